import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Aws, DockerImage, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { AccessLogBucket } from './access-log-bucket.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONSOLE_DIR = path.join(ROOT, 'console');

export interface ConsoleSiteProps {
  removalPolicy: RemovalPolicy;
  /**
   * Extra origins the console may call (CSP connect-src), e.g. a custom API domain. The
   * region's execute-api hosts are always allowed: naming the API itself here would make the
   * distribution depend on the API, whose CORS already depends on the distribution.
   */
  extraConnectSources?: string[];
  /**
   * The console's own name and its ACM certificate (in us-east-1, as CloudFront requires). Only
   * then can viewers be held to TLS 1.2: with the default *.cloudfront.net certificate
   * CloudFront applies its TLSv1 policy whatever the template says.
   */
  domain?: { name: string; certificateArn: string };
}

/**
 * The web console in AWS: a private S3 bucket read only by CloudFront through origin access
 * control, served over HTTPS with security headers. `deploy()` uploads the built console and a
 * config.json naming the API, and invalidates the CDN so the new build is live at once.
 */
export class ConsoleSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://dxxxx.cloudfront.net`: the browser origin to allow in the API's CORS. */
  readonly origin: string;
  readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);

    const logs = new AccessLogBucket(this, 'AccessLogs', { removalPolicy: props.removalPolicy, logsOf: 'the console bucket and distribution' });

    this.bucket = new s3.Bucket(this, 'Content', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Public static files: S3-managed keys keep the OAC read path free of KMS grants.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'console-bucket/',
      // A bad deploy (prune deletes what the build lacks) can be undone from the previous versions.
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: props.removalPolicy,
    });

    // The user pool's token endpoint (sign-in, refresh, sign-out) is on its Hosted UI domain.
    // The images bucket too: the console uploads a cloud-delivery image to its presigned URL
    // (virtual-hosted `bucket.s3.region…`, or path style for bucket names with dots).
    const connectSources = [
      "'self'",
      `https://*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`,
      `https://*.s3.${Aws.REGION}.${Aws.URL_SUFFIX}`,
      `https://s3.${Aws.REGION}.${Aws.URL_SUFFIX}`,
      `https://*.auth.${Aws.REGION}.amazoncognito.com`,
      ...(props.extraConnectSources ?? []),
    ];
    const securityHeaders = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Flashline console: CSP, HSTS and friends',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connectSources.join(' ')}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), usb=(), serial=()', override: true }],
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Flashline web console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        // Content only ever travels over HTTPS; a plain-HTTP request gets a redirect, not the page.
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: securityHeaders,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(props.domain && {
        domainNames: [props.domain.name],
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
        minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      }),
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
    });
    NagSuppressions.addResourceSuppressions(this.distribution, [
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Factories are worldwide and the console is behind sign-in with API tokens; no country is excluded by design.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'Static files only: every request that matters goes to the API, which has its own throttling. Attach a WAF web ACL per deployment if the operator wants one.',
      },
      ...(props.domain
        ? []
        : [
            {
              id: 'AwsSolutions-CFR4',
              reason:
                'No console domain given: the default *.cloudfront.net certificate, for which CloudFront does not let us pick the viewer TLS policy. `-c consoleDomain=… -c consoleCertificateArn=…` enforces TLSv1.2_2021.',
            },
          ]),
    ]);

    this.origin = `https://${props.domain?.name ?? this.distribution.distributionDomainName}`;
    this.url = `${this.origin}/`;
  }

  /**
   * Uploads the console, built at synth time, with a config.json pointing at `apiUrl`. The
   * deployment lives in `scope` (the stateless stack, where the API is): the bucket and CDN stay
   * in the stateful stack, whose images bucket allows the console's origin.
   */
  deploy(scope: Construct, apiUrl: string, people?: { clientId: string; signInUrl: string }): s3deploy.BucketDeployment {
    const deployment = new s3deploy.BucketDeployment(scope, 'ConsoleDeploy', {
      sources: [consoleBuild(), s3deploy.Source.jsonData('config.json', { apiUrl, ...(people ? { people } : {}) })],
      destinationBucket: this.bucket,
      // index.html and config.json keep their names across builds; assets are content-hashed.
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 512,
    });
    suppressBucketDeploymentFindings(Stack.of(scope));
    return deployment;
  }
}

/** The console build as a CDK asset: `tsx console/build.ts` on the synthesizing machine. */
function consoleBuild(): s3deploy.ISource {
  return s3deploy.Source.asset(CONSOLE_DIR, {
    // The bundle also depends on node_modules and shared/contract types: hash what was built.
    assetHashType: AssetHashType.OUTPUT,
    exclude: ['dist'],
    bundling: {
      local: {
        tryBundle(outputDir: string): boolean {
          const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
          try {
            execFileSync(tsx, [path.join(CONSOLE_DIR, 'build.ts'), '--out', outputDir], { cwd: ROOT, stdio: 'pipe' });
          } catch (error) {
            const failure = error as { stderr?: Buffer; message: string };
            throw new Error(`Building the console failed: ${failure.stderr?.toString() || failure.message}`);
          }
          return true;
        },
      },
      // Never used: local bundling either succeeds or throws. CDK requires an image anyway.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
    },
  });
}

/** aws-s3-deployment brings its own singleton Lambda; its findings are CDK's to fix, not ours. */
function suppressBucketDeploymentFindings(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    NagSuppressions.addResourceSuppressions(
      child,
      [
        { id: 'AwsSolutions-IAM4', reason: "aws-s3-deployment's deploy-time function: CDK attaches AWSLambdaBasicExecutionRole for its logs." },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "aws-s3-deployment's deploy-time function: CDK grants it s3:GetObject*/List*/DeleteObject*/Abort* on exactly two buckets (CDK's asset bucket and the console bucket) and cloudfront:Create/GetInvalidation on *, as its handler is written.",
        },
        { id: 'AwsSolutions-L1', reason: "aws-s3-deployment pins the runtime of its own deploy-time function; it runs only during deployments." },
      ],
      true,
    );
  }
}
