import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ENV, type FunctionEnvironment } from '../../shared/config.js';
import { FUNCTION_BUNDLING, bundlingAlias, runtimeNodeOptions } from './function-bundling.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ProjectFunctionProps {
  /** Entry file relative to the repository root, e.g. `functions/device-api/index.ts`. */
  entry: string;
  description: string;
  /** Only variables named in shared/config.ts (ENV). */
  environment?: FunctionEnvironment;
  memorySize?: number;
  timeout?: Duration;
  logRetention?: logs.RetentionDays;
  /** The key the function's log group is encrypted with. */
  logsKey: kms.IKey;
  /**
   * Concurrency set aside for this function and its ceiling, so one busy function cannot take
   * the account's whole pool from the others (an authorizer starved by a device flood locks
   * every caller out). Undefined: shares the unreserved pool.
   */
  reservedConcurrency?: number;
  /**
   * A fixed role name, for a role another stack must name before it exists (a signing key's
   * policy, infra/stack-names.ts). Default: generated.
   */
  roleName?: string;
  /**
   * The `service` of its logs and metrics (POWERTOOLS_SERVICE_NAME). Default: the construct id.
   * Functions serving one API share it, so its dashboard and alarms count the API whatever
   * function answered.
   */
  serviceName?: string;
}

/**
 * The one way Flashline builds a Lambda function: arm64, an explicit Node runtime, ESM,
 * minified with source maps, every dependency (the AWS SDK included) bundled at the pinned
 * version (the options live in function-bundling.ts, which scripts/bundle-report.ts measures
 * with), its own log group with retention, X-Ray tracing, and a role of its own that starts
 * with nothing but its log group.
 */
export class ProjectFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ProjectFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logsKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}: only the grants its code needs`,
      roleName: props.roleName,
    });
    const { alias: _alias, format: _esm, ...bundling } = FUNCTION_BUNDLING;
    super(scope, id, {
      entry: path.join(ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      // Tracing is switched on below, with its grant in a policy of its own.
      tracing: lambda.Tracing.DISABLED,
      reservedConcurrentExecutions: props.reservedConcurrency,
      logGroup,
      role,
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      environment: {
        ...(runtimeNodeOptions(props.entry) && { [ENV.NODE_OPTIONS]: runtimeNodeOptions(props.entry) }),
        [ENV.POWERTOOLS_SERVICE_NAME]: props.serviceName ?? id,
        [ENV.POWERTOOLS_LOG_LEVEL]: 'INFO',
        ...props.environment,
      },
      bundling: {
        ...bundling,
        format: OutputFormat.ESM,
        // NodejsFunction has no `alias` option; esbuild resolves the replacement from the project root (its working directory).
        esbuildArgs: { '--alias': Object.entries(bundlingAlias(props.entry)).map(([from, to]) => `${from}=${to}`) },
      },
    });
    logGroup.grantWrite(role);
    (this.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
    // X-Ray's two calls support no resource-level permissions: they live in a policy of their
    // own, so the `Resource::*` suppression below covers that policy and nothing else of the role.
    const tracing = new iam.Policy(scope, `${id}Tracing`, {
      roles: [role],
      statements: [new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] })],
    });
    this.node.addDependency(tracing);
    NagSuppressions.addResourceSuppressions(tracing, [
      { id: 'AwsSolutions-IAM5', reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.', appliesTo: ['Resource::*'] },
    ]);
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: "Log streams are created on demand: the `:*` wildcard is scoped to this function's own log group.",
          appliesTo: [{ regex: `/^Resource::<${id}Logs[A-F0-9]{8}\\.Arn>:\\*$/g` }],
        },
      ],
      true,
    );
  }
}
