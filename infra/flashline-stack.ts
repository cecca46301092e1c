import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../shared/domain/rate-limits.js';
import { ConsoleSite } from './constructs/console-site.js';
import { DataStore } from './constructs/data-store.js';
import { HttpApi } from './constructs/http-api.js';
import { ProjectFunction } from './constructs/project-function.js';

export interface FlashlineStackProps extends StackProps {
  removalPolicy: RemovalPolicy;
  /** Browser origins allowed by CORS; default: the deployed console's CloudFront origin. */
  corsOrigins?: string[];
  /** Deploy the web console to S3 + CloudFront (not on emulators: BucketDeployment's custom resource cannot run there). */
  console?: boolean;
  customApiId?: string;
  /**
   * The API's base URL as clients reach it, named in the credentials files and the OpenAPI
   * document the API hands out. Default: the API's own execute-api URL. Set it for a custom
   * domain, and on emulators (they serve the API under a path prefix). The functions never
   * take it from request headers, which callers control.
   */
  publicApiUrl?: string;
  /**
   * Reserve each function's concurrency (default true): the device API's flood cannot starve the
   * authorizer or the management API. Off for accounts whose concurrency quota is below
   * RESERVED_CONCURRENCY's sum + 100 (new accounts start at 10); `-c reservedConcurrency=off`.
   */
  reserveConcurrency?: boolean;
  /** A custom console domain with its ACM certificate (us-east-1): TLS 1.2 minimum for viewers. */
  consoleDomain?: { name: string; certificateArn: string };
  /** Per-programmer and per-account token buckets of the API functions (default DEFAULT_RATE_LIMITS). */
  rateLimits?: RateLimits;
}

/** Concurrency set aside per function: 360 of the default 1,000, leaving 640 unreserved. */
export const RESERVED_CONCURRENCY = { Authorizer: 100, ManagementApi: 50, DeviceApi: 200, ImageVerifier: 10 } as const;

/** Seconds API Gateway caches an authorizer answer: the longest a revoked credential keeps working. */
export const AUTHORIZER_CACHE_TTL_SECONDS = 30;

export class FlashlineStack extends Stack {
  constructor(scope: Construct, id: string, props: FlashlineStackProps) {
    super(scope, id, props);

    const consoleSite = props.console ? new ConsoleSite(this, 'Console', { removalPolicy: props.removalPolicy, domain: props.consoleDomain }) : undefined;
    const corsOrigins = props.corsOrigins ?? (consoleSite ? [consoleSite.origin] : []);

    const store = new DataStore(this, 'Store', { removalPolicy: props.removalPolicy, uploadCorsOrigins: corsOrigins });
    const reserved = (name: keyof typeof RESERVED_CONCURRENCY) => (props.reserveConcurrency === false ? undefined : RESERVED_CONCURRENCY[name]);
    const functionDefaults = { logsKey: store.logsKey };
    const tables = {
      TABLE_NAME: store.table.tableName,
      EVENTS_TABLE_NAME: store.eventsTable.tableName,
    };

    const authorizer = new ProjectFunction(this, 'Authorizer', {
      ...functionDefaults,
      reservedConcurrency: reserved('Authorizer'),
      entry: 'functions/authorizer/index.ts',
      description: 'Resolves bearer tokens to account keys or programmers',
      environment: { TABLE_NAME: store.table.tableName },
      memorySize: 256,
      timeout: Duration.seconds(5),
    });
    // getCredential: one GetItem per token (API Gateway caches the answer).
    store.grantTables(authorizer, { table: store.table, items: ['GetItem'] });

    const apiEnvironment = {
      ...tables,
      SIGNING_KEY_ID: store.bindingKey.keyId,
      TICKET_KEY_ID: store.ticketKey.keyId,
      IMAGES_BUCKET: store.imagesBucket.bucketName,
      // Read once per container (functions/shared-deps.ts); leases write the bucket items with
      // UpdateItem, which both API functions hold already.
      RATE_LIMITS: JSON.stringify(props.rateLimits ?? DEFAULT_RATE_LIMITS),
    };

    const management = new ProjectFunction(this, 'ManagementApi', {
      ...functionDefaults,
      reservedConcurrency: reserved('ManagementApi'),
      entry: 'functions/management-api/index.ts',
      description: 'Account-side API: keys, factories, programmers, images, jobs, audit',
      environment: { ...apiEnvironment, CURSOR_KEY_SECRET_ARN: store.cursorKey.secretArn },
    });
    // Transactions with Delete items (factories, programmers), factory lists (the entity table's
    // indexes) and the audit, logs and results feeds (partitions of the events table, no index).
    const managementItems = ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'] as const;
    store.grantTables(
      management,
      { table: store.table, items: [...managementItems], queriesIndexes: true },
      { table: store.eventsTable, items: [...managementItems] },
    );
    // Bindings are signed here; the JWKS (GET /v1/signing-keys) publishes both root keys.
    store.grantSign(store.bindingKey, management);
    store.grantPublicKeys(management, store.bindingKey, store.ticketKey);
    store.grantImageUpload(management);
    // Every paged list is a management route: only this function signs and checks cursors.
    store.grantCursorKey(management);

    const device = new ProjectFunction(this, 'DeviceApi', {
      ...functionDefaults,
      reservedConcurrency: reserved('DeviceApi'),
      entry: 'functions/device-api/index.ts',
      description: 'Programmer API: jobs, downloads, authorizations, results, logs',
      environment: apiEnvironment,
      memorySize: 1024,
    });
    // Entity table: snapshots, reservations, authorizations, reported units, releases, presence; gsi2 lists a factory's jobs.
    // Events table: log lines, result batches and log markers, written only (puts, alone or in transactions).
    store.grantTables(
      device,
      { table: store.table, items: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'], queriesIndexes: true },
      { table: store.eventsTable, items: ['PutItem'] },
    );
    // Certifies its session keys with the ticket key; reads the binding key to verify bindings presented to it.
    store.grantSign(store.ticketKey, device);
    store.grantPublicKeys(device, store.bindingKey);
    store.grantImageRead(device);

    const verifier = new ProjectFunction(this, 'ImageVerifier', {
      ...functionDefaults,
      reservedConcurrency: reserved('ImageVerifier'),
      entry: 'functions/image-verifier/index.ts',
      description: 'Recomputes size and SHA-256 of each uploaded image and marks it available or rejected',
      environment: { ...tables, IMAGES_BUCKET: store.imagesBucket.bucketName },
      timeout: Duration.minutes(5),
      memorySize: 1024,
    });
    // Reads the image and its job, writes the verdict on the image; never creates or deletes items.
    store.grantTables(verifier, { table: store.table, items: ['GetItem', 'UpdateItem'] });
    store.grantUploadVerification(verifier);
    // S3 invokes the verifier asynchronously: Lambda retries a failed event twice, then parks it
    // here (with the error) for an operator; the image meanwhile says why it is still pending.
    const verifierFailures = new sqs.Queue(this, 'ImageVerifierFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    NagSuppressions.addResourceSuppressions(verifierFailures, [{ id: 'AwsSolutions-SQS3', reason: "This queue is the image verifier's dead-letter destination itself." }]);
    verifier.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(verifierFailures) });
    store.imagesBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(verifier), { prefix: 'accounts/' });
    // aws-cdk-lib installs the notification with its own singleton custom-resource function.
    const notificationsHandler = this.node.children.find((child) => child.node.id.startsWith('BucketNotificationsHandler'));
    if (notificationsHandler) {
      NagSuppressions.addResourceSuppressions(
        notificationsHandler,
        [
          { id: 'AwsSolutions-IAM4', reason: "aws-cdk-lib's own bucket-notification custom resource: deploy-time only, its role is CDK's to define." },
          { id: 'AwsSolutions-IAM5', reason: 'PutBucketNotification has no resource-level scoping in the CDK handler; deploy-time only.' },
        ],
        true,
      );
    }

    const api = new HttpApi(this, 'Http', {
      authorizerFunction: authorizer,
      managementFunction: management,
      deviceFunction: device,
      authorizerCacheTtl: Duration.seconds(AUTHORIZER_CACHE_TTL_SECONDS),
      corsOrigins,
      customApiId: props.customApiId,
      logsKey: store.logsKey,
    });
    // Set after the API exists: the function then depends on the API's id, never the reverse
    // (the API's routes depend on the function), so there is no cycle.
    management.addEnvironment('PUBLIC_API_URL', props.publicApiUrl ?? api.url);
    if (consoleSite) {
      consoleSite.deploy(api.url);
      new CfnOutput(this, 'ConsoleUrl', { value: consoleSite.url, description: 'The Flashline web console' });
    }

    new CfnOutput(this, 'TableName', { value: store.table.tableName });
    new CfnOutput(this, 'EventsTableName', { value: store.eventsTable.tableName });
    new CfnOutput(this, 'ImagesBucketName', { value: store.imagesBucket.bucketName });
    new CfnOutput(this, 'SigningKeyId', { value: store.bindingKey.keyId });
    new CfnOutput(this, 'TicketKeyId', { value: store.ticketKey.keyId });
    new CfnOutput(this, 'ImageVerifierFailuresQueueUrl', { value: verifierFailures.queueUrl, description: 'Upload events the image verifier failed on, after retries' });
    void api;

    NagSuppressions.addStackSuppressions(this, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Scoped wildcards only: the GSIs of our own tables, and the objects under accounts/ in our own images bucket. No wildcard actions.',
        appliesTo: [{ regex: '/^Resource::<StoreEntityTable.*\\.Arn>\\/index\\/\\*$/g' }, { regex: '/^Resource::<StoreEventsTable.*\\.Arn>\\/index\\/\\*$/g' }, { regex: '/^Resource::<StoreImages.*\\.Arn>\\/accounts\\/\\*$/g' }],
      },
    ]);
  }
}
