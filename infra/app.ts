import { App, Aspects, Aws, RemovalPolicy } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LOCAL_API_ID, executeApiUrl, forcedEmulatorKind } from '../localstack/emulator.js';
import { parseApiFlavour, stageSegmentOf } from './api-flavour.js';
import { parseRateLimits } from '../shared/domain/rate-limits.js';
import { parseSsoProvider } from './constructs/people-directory.js';
import { createFlashlineStacks } from './stacks.js';
import { LOCAL_CONSOLE_ORIGINS } from './local-console-origins.js';

/**
 * Context (`-c key=value` or cdk.json):
 *   apiFlavour=http|rest  the API Gateway in front of the functions (default http: cheaper and
 *                       faster, docs/api-gateway.md; rest adds gateway responses, WAF, usage plans)
 *   env=local|prod      local: throw-away resources (DESTROY) and a pinned API id for emulators
 *   corsOrigins=a,b     browser origins of the console (default: the local console when local,
 *                       else the CloudFront origin of the console this stack deploys)
 *   publicApiUrl=URL    the API's URL as clients reach it, e.g. a custom domain (default: the
 *                       API's execute-api URL; locally where the emulator serves it, which the
 *                       local harness passes; FLASHLINE_EMULATOR names the emulator otherwise)
 *   reservedConcurrency=off   no reserved concurrency per function (accounts with a small quota)
 *   consoleDomain=console.example.com consoleCertificateArn=arn:aws:acm:us-east-1:…
 *                       serve the console on that name with TLS 1.2 at least (the default
 *                       *.cloudfront.net certificate cannot refuse older TLS)
 *   rateLimits='{"programmer":{"ratePerSecond":20,"burst":40},"deviceAccount":…,"managementAccount":…}'
 *                       per-programmer and per-account token buckets (README "Fair throttling");
 *                       scopes left out keep their defaults
 *   alarmEmails=a@x,b@y  subscribers of the alarm topic (each confirms by email)
 *   people=off          no user pool: API keys only (LocalStack's free plan has no Cognito)
 *   peopleMfa=required  every person sets up TOTP at first sign-in (default optional: each may)
 *   peopleSso='{"type":"oidc","name":"Corp","issuer":"https://…","clientId":"…","clientSecretArn":"arn:aws:secretsmanager:…"}'
 *                       or '{"type":"saml","name":"Corp","metadataUrl":"https://…"}': sign in with the company's IdP
 *   peopleDomainPrefix=acme-flashline   the Hosted UI's domain prefix (default flashline-{account id})
 *
 * Two stacks (infra/stack-names.ts): `Flashline` (stateful: data, keys; termination protection
 * in production) and `FlashlineApi` (stateless: functions, API, alarms). `cdk deploy --all`.
 */
const app = new App();
const env = app.node.tryGetContext('env') ?? 'prod';
const corsOrigins = listContext('corsOrigins') ?? (env === 'local' ? LOCAL_CONSOLE_ORIGINS : undefined);

const apiFlavour = parseApiFlavour(app.node.tryGetContext('apiFlavour'));
const emulatorEndpoint = env === 'local' ? process.env.AWS_ENDPOINT_URL : undefined;

createFlashlineStacks(app, {
  removalPolicy: env === 'local' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  // Throw-away local stacks must stay deletable.
  terminationProtection: env !== 'local',
  corsOrigins,
  // The emulator cannot run BucketDeployment's custom resource; locally `npm start` serves the console.
  console: env !== 'local',
  customApiId: env === 'local' ? LOCAL_API_ID : undefined,
  apiFlavour,
  publicApiUrl:
    (app.node.tryGetContext('publicApiUrl') as string | undefined) ??
    (emulatorEndpoint ? executeApiUrl({ kind: forcedEmulatorKind(process.env) ?? 'ministack', endpoint: emulatorEndpoint }, LOCAL_API_ID, stageSegmentOf(apiFlavour)) : undefined),
  reserveConcurrency: app.node.tryGetContext('reservedConcurrency') !== 'off',
  consoleDomain: consoleDomainContext(),
  rateLimits: parseRateLimits(rateLimitsContext()),
  alarmEmails: listContext('alarmEmails'),
  // MiniStack's CloudFormation cannot create alarms on metric math: the local stack has the others.
  metricMathAlarms: env !== 'local',
  // The local stack's tests run their webhook receivers on 127.0.0.1 and want retries in seconds.
  allowPrivateWebhooks: env === 'local',
  webhookRetryBaseSeconds: env === 'local' ? 1 : undefined,
  people:
    app.node.tryGetContext('people') === 'off'
      ? undefined
      : {
          mfa: app.node.tryGetContext('peopleMfa') === 'required' ? 'required' : 'optional',
          sso: parseSsoProvider(app.node.tryGetContext('peopleSso')),
          domainPrefix: (app.node.tryGetContext('peopleDomainPrefix') as string | undefined) ?? `flashline-${Aws.ACCOUNT_ID}`,
          emulatorEndpoint,
        },
  showTemporaryPasswords: env === 'local',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

/** A comma-separated context value as a list; undefined when not given. */
function listContext(key: string): string[] | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** `-c rateLimits='{…}'` arrives as a string; in cdk.json it may be an object. A bad value fails the synth. */
function rateLimitsContext(): string | undefined {
  const value: unknown = app.node.tryGetContext('rateLimits');
  return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
}

function consoleDomainContext(): { name: string; certificateArn: string } | undefined {
  const name: unknown = app.node.tryGetContext('consoleDomain');
  const certificateArn: unknown = app.node.tryGetContext('consoleCertificateArn');
  if (!name && !certificateArn) return undefined;
  if (!name || !certificateArn) throw new Error('consoleDomain and consoleCertificateArn go together');
  return { name: String(name), certificateArn: String(certificateArn) };
}

Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
