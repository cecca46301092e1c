import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { CA_KEY_TAG, ENV, type FunctionEnvironment } from '../shared/config.js';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../shared/domain/rate-limits.js';
import { keys } from '../shared/store/keys.js';
import { type ApiFlavour, DEFAULT_API_FLAVOUR } from './api-flavour.js';
import { HttpApi, type PublicApi } from './constructs/http-api.js';
import { EventsPipeline } from './constructs/events-pipeline.js';
import { Operations } from './constructs/operations.js';
import { ProjectFunction } from './constructs/project-function.js';
import { RestApi } from './constructs/rest-api.js';
import { SIGNER_FUNCTIONS, signerRoleName } from './stack-names.js';
import type { FlashlineDataStack } from './stateful-stack.js';

export interface FlashlineApiStackProps extends StackProps {
  /** The stateful stack: tables, bucket, keys and queue this stack's functions use. */
  data: FlashlineDataStack;
  customApiId?: string;
  /** HTTP API or REST API in front of the functions (`-c apiFlavour=http|rest`; docs/api-gateway.md). */
  apiFlavour?: ApiFlavour;
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
  /** Per-programmer and per-account token buckets of the API functions (default DEFAULT_RATE_LIMITS). */
  rateLimits?: RateLimits;
  /** Alarm subscribers by email (`-c alarmEmails=a@x,b@y`). */
  alarmEmails?: string[];
  /** Alarms on metric math; off on the local emulator, which cannot create them (operations.ts). */
  metricMathAlarms?: boolean;
  /** Local stack only: webhooks may name http://localhost and deliveries reach private addresses (default false). */
  allowPrivateWebhooks?: boolean;
  /** First retry delay of a failed webhook delivery in seconds (default 5; the local stack uses 1 so tests see retries). */
  webhookRetryBaseSeconds?: number;
  /** Local stack only: people invited get no mail; the admin is shown their temporary password. */
  showTemporaryPasswords?: boolean;
}

/** Concurrency set aside per function: 380 of the default 1,000, leaving 620 unreserved. */
export const RESERVED_CONCURRENCY = { Authorizer: 100, ManagementApi: 50, DeviceApi: 80, DeviceAuthorizations: 120, DeviceCertificates: 20, ImageVerifier: 10, EventRelay: 5, WebhookDelivery: 20, PresenceCheck: 1 } as const;

/** Seconds API Gateway caches an authorizer answer: the longest a revoked credential keeps working. */
export const AUTHORIZER_CACHE_TTL_SECONDS = 30;

/**
 * Everything that can be deleted and recreated from the code: the functions (each with its own
 * role and log group), the HTTP API, the image verifier's upload trigger, the console upload,
 * the dashboard and the alarms. It grants its functions exactly what they call on the stateful
 * stack's resources; nothing in the stateful stack refers back here.
 *
 * New functions, routes, alarms, environment variables (named in shared/config.ts first):
 * here. A new table, bucket, key or secret: the stateful stack, handed in through `data`.
 */
export class FlashlineApiStack extends Stack {
  readonly api: PublicApi;
  readonly operations: Operations;

  constructor(scope: Construct, id: string, props: FlashlineApiStackProps) {
    super(scope, id, props);
    const { store } = props.data;

    const reserved = (name: keyof typeof RESERVED_CONCURRENCY) => (props.reserveConcurrency === false ? undefined : RESERVED_CONCURRENCY[name]);
    const functionDefaults = { logsKey: store.logsKey };
    const tables: FunctionEnvironment = {
      [ENV.TABLE_NAME]: store.table.tableName,
      [ENV.EVENTS_TABLE_NAME]: store.eventsTable.tableName,
    };

    const authorizer = new ProjectFunction(this, 'Authorizer', {
      ...functionDefaults,
      reservedConcurrency: reserved('Authorizer'),
      entry: 'functions/authorizer/index.ts',
      description: 'Resolves bearer tokens to account keys or programmers',
      environment: { [ENV.TABLE_NAME]: store.table.tableName },
      memorySize: 256,
      timeout: Duration.seconds(5),
    });
    // getCredential: one GetItem per token (API Gateway caches the answer); a person's token two (sign-in item, person).
    store.grantTables(authorizer, { table: store.table, items: ['GetItem'] });
    const { people } = props.data;
    if (people) {
      authorizer.addEnvironment(ENV.PEOPLE_TOKEN_ISSUER, people.issuer);
      authorizer.addEnvironment(ENV.PEOPLE_JWKS_URL, people.jwksUrl);
      authorizer.addEnvironment(ENV.PEOPLE_CLIENT_ID, people.client.userPoolClientId);
    }

    // Certificate authorities' KMS keys are created at run time (one per CA) and carry this tag:
    // the functions may create, tag and use only keys that carry it (grantCaKeys below).
    const caKeyTagValue = props.data.stackName;
    // Read once per container (each API function's deps); leases write the bucket items with
    // UpdateItem, which every API function holds already.
    const rateLimits = JSON.stringify(props.rateLimits ?? DEFAULT_RATE_LIMITS);
    const apiEnvironment: FunctionEnvironment = {
      ...tables,
      [ENV.SIGNING_KEY_ID]: store.bindingKey.keyId,
      [ENV.TICKET_KEY_ID]: store.ticketKey.keyId,
      [ENV.IMAGES_BUCKET]: store.imagesBucket.bucketName,
      [ENV.RATE_LIMITS]: rateLimits,
    };

    const management = new ProjectFunction(this, 'ManagementApi', {
      ...functionDefaults,
      reservedConcurrency: reserved('ManagementApi'),
      entry: 'functions/management-api/index.ts',
      description: 'Account-side API: keys, factories, programmers, images, jobs, audit',
      environment: {
        ...apiEnvironment,
        [ENV.CURSOR_KEY_SECRET_ARN]: store.cursorKey.secretArn,
        [ENV.CA_KEY_TAG_VALUE]: caKeyTagValue,
        [ENV.DATA_KEY_ID]: store.dataKey.keyId,
        [ENV.WEBHOOK_QUEUE_URL]: props.data.webhookDeliveries.queueUrl,
        [ENV.WEBHOOK_ALLOW_PRIVATE]: String(props.allowPrivateWebhooks === true),
      },
      roleName: signerRoleName(this.stackName, SIGNER_FUNCTIONS.binding),
    });
    if (people) {
      management.addEnvironment(ENV.PEOPLE_USER_POOL_ID, people.userPool.userPoolId);
      management.addEnvironment(ENV.PEOPLE_SHOW_TEMPORARY_PASSWORD, String(props.showTemporaryPasswords === true));
      // Invitations, disabling (with a global sign-out) and removal: nothing else of the pool.
      management.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['cognito-idp:AdminCreateUser', 'cognito-idp:AdminDisableUser', 'cognito-idp:AdminEnableUser', 'cognito-idp:AdminUserGlobalSignOut', 'cognito-idp:AdminDeleteUser'],
          resources: [people.userPool.userPoolArn],
        }),
      );
    }
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
    store.grantManifests(management);
    NagSuppressions.addResourceSuppressions(
      management.role!,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'Manifests of large jobs: objects under manifests/ of our own images bucket, one per job and SHA-256, named at run time.',
          appliesTo: [{ regex: '/^Resource::<StoreImages.*\\.Arn>\\/manifests\\/\\*$/g' }, { regex: '/^Resource::.*ExportsOutputFnGetAttStoreImages.*Arn.*\\/manifests\\/\\*$/g' }],
        },
      ],
      true,
    );
    // Every paged list is a management route: only this function signs and checks cursors.
    store.grantCursorKey(management);

    const device = new ProjectFunction(this, 'DeviceApi', {
      ...functionDefaults,
      reservedConcurrency: reserved('DeviceApi'),
      entry: 'functions/device-api/index.ts',
      description: 'Programmer API: jobs, downloads, results, releases, logs',
      environment: { ...tables, [ENV.IMAGES_BUCKET]: store.imagesBucket.bucketName, [ENV.RATE_LIMITS]: rateLimits },
      memorySize: 1024,
    });
    // Entity table: snapshots, reported units, releases, presence; gsi2 lists a factory's jobs.
    // Events table: log lines, result batches and log markers, written only (puts, alone or in transactions).
    store.grantTables(
      device,
      { table: store.table, items: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'], queriesIndexes: true },
      { table: store.eventsTable, items: ['PutItem'] },
    );
    // A release frees the chip UID claims it held by deleting them: only in those partitions.
    device.addToRolePolicy(this.devicePartitionsStatement(store.table.tableArn, ['dynamodb:DeleteItem']));
    store.grantImageRead(device);

    const authorizations = new ProjectFunction(this, 'DeviceAuthorizations', {
      ...functionDefaults,
      reservedConcurrency: reserved('DeviceAuthorizations'),
      entry: 'functions/device-authorizations/index.ts',
      description: 'Programmer API: POST /v1/device/authorizations (reservations, per-unit data, tickets)',
      environment: { ...tables, [ENV.SIGNING_KEY_ID]: store.bindingKey.keyId, [ENV.TICKET_KEY_ID]: store.ticketKey.keyId, [ENV.RATE_LIMITS]: rateLimits },
      memorySize: 1024,
      roleName: signerRoleName(this.stackName, SIGNER_FUNCTIONS.ticket),
      // One device API to operators: authorizations are counted with the other device routes.
      serviceName: 'DeviceApi',
    });
    // Entity table only: programmer and nonce, the job's reservation, per-unit sources, data-list
    // rows, the authorization with its traceability index items, UID claims. No index, no feed.
    store.grantTables(authorizations, { table: store.table, items: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'] });
    // onFailure return: a new unit takes a failed unit's values by querying and deleting them;
    // a refused request frees the chip UIDs it claimed. Only in those partitions.
    authorizations.addToRolePolicy(this.devicePartitionsStatement(store.table.tableArn, ['dynamodb:Query', 'dynamodb:DeleteItem']));
    // Certifies its session keys with the ticket key (the only role that may); verifies bindings presented to it.
    store.grantSign(store.ticketKey, authorizations);
    store.grantPublicKeys(authorizations, store.bindingKey);

    // Creates CA keys, reads their public keys, self-signs the CA certificate, and schedules the
    // deletion of a key whose CA could not be recorded.
    this.grantCaKeys(management, caKeyTagValue, ['kms:GetPublicKey', 'kms:Sign', 'kms:ScheduleKeyDeletion'], { create: true });

    const certificates = new ProjectFunction(this, 'DeviceCertificates', {
      ...functionDefaults,
      reservedConcurrency: reserved('DeviceCertificates'),
      entry: 'functions/device-certificates/index.ts',
      description: "Programmer API: a unit's device certificate from its CSR, signed by its job's CA in KMS",
      environment: { ...tables, [ENV.RATE_LIMITS]: rateLimits },
      memorySize: 512,
    });
    // Reads programmer, authorization, stored certificate and CA (BatchGet/Get); writes the
    // certificate once (Put) and the programmer's token buckets (Update). Signs with CA keys only.
    store.grantTables(certificates, { table: store.table, items: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'] });
    this.grantCaKeys(certificates, caKeyTagValue, ['kms:Sign']);

    const verifier = new ProjectFunction(this, 'ImageVerifier', {
      ...functionDefaults,
      reservedConcurrency: reserved('ImageVerifier'),
      entry: 'functions/image-verifier/index.ts',
      description: 'Recomputes size and SHA-256 of each uploaded image and marks it available or rejected',
      environment: { ...tables, [ENV.IMAGES_BUCKET]: store.imagesBucket.bucketName },
      timeout: Duration.minutes(5),
      memorySize: 1024,
    });
    // Reads the image and its job, writes the verdict on the image; creates a data list's row
    // chunks (PutItem) from its uploaded file. Never deletes items.
    store.grantTables(verifier, { table: store.table, items: ['GetItem', 'PutItem', 'UpdateItem'] });
    store.grantUploadVerification(verifier);
    this.routeUploadsToVerifier(props.data, verifier);

    // Events and webhooks: the relay, the delivery worker and the presence check.
    const events = new EventsPipeline(this, 'Events', {
      store,
      deliveries: props.data.webhookDeliveries,
      failures: props.data.eventFailures,
      queueKey: props.data.notificationsKey,
      logsKey: store.logsKey,
      allowPrivateWebhooks: props.allowPrivateWebhooks === true,
      retryBaseSeconds: props.webhookRetryBaseSeconds ?? 5,
      reservedConcurrency: { relay: reserved('EventRelay'), delivery: reserved('WebhookDelivery'), presence: reserved('PresenceCheck') },
    });
    // Webhook secrets are sealed with the data key (kms:Encrypt, which its table grant carries);
    // `POST /v1/webhooks/{id}/test` queues its delivery itself.
    management.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.data.webhookDeliveries.queueArn] }));
    props.data.notificationsKey.grant(management, 'kms:GenerateDataKey', 'kms:Decrypt');

    const rest = (props.apiFlavour ?? DEFAULT_API_FLAVOUR) === 'rest';
    // A REST API's Lambda proxy answers carry only the functions' own headers: there the API
    // functions add Access-Control-Allow-Origin for the console (shared/http crossOrigin). An
    // HTTP API's CORS configuration sets it instead, and a second header would make browsers refuse.
    if (rest && props.data.corsOrigins.length > 0) {
      for (const fn of [management, device, authorizations, certificates]) fn.addEnvironment(ENV.CORS_ORIGINS, props.data.corsOrigins.join(','));
    }
    this.api = new (rest ? RestApi : HttpApi)(this, rest ? 'Rest' : 'Http', {
      authorizerFunction: authorizer,
      managementFunction: management,
      deviceFunction: device,
      deviceAuthorizationsFunction: authorizations,
      deviceCertificatesFunction: certificates,
      authorizerCacheTtl: Duration.seconds(AUTHORIZER_CACHE_TTL_SECONDS),
      corsOrigins: props.data.corsOrigins,
      customApiId: props.customApiId,
      logsKey: store.logsKey,
    });
    // Set after the API exists: the function then depends on the API's id, never the reverse
    // (the API's routes depend on the function), so there is no cycle.
    management.addEnvironment(ENV.PUBLIC_API_URL, props.publicApiUrl ?? this.api.url);
    props.data.consoleSite?.deploy(this, this.api.url, people ? { clientId: people.client.userPoolClientId, signInUrl: people.signInUrl } : undefined);

    this.operations = new Operations(this, 'Operations', {
      api: this.api.metrics,
      functions: { authorizer, management, device, authorizations, verifier },
      deadLetterQueue: props.data.verifierFailures,
      events: { relay: events.relay, delivery: events.delivery, failures: props.data.eventFailures },
      notificationsKey: props.data.notificationsKey,
      alarmEmails: props.alarmEmails ?? [],
      dashboardName: `${this.stackName}-operations`,
      metricMathAlarms: props.metricMathAlarms,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.topic.topicArn, description: 'Alarms go here; subscribe pagers or more emails' });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName });
    new CfnOutput(this, 'PresenceCheckFunctionName', { value: events.presence.functionName, description: 'Runs every minute; invoke with {"time": ISO} to check as of that time' });

    NagSuppressions.addStackSuppressions(this, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Scoped wildcards only: the GSIs of our own tables, and the objects under accounts/ in our own images bucket. No wildcard actions.',
        appliesTo: [
          { regex: '/^Resource::<StoreEntityTable.*\\.Arn>\\/index\\/\\*$/g' },
          { regex: '/^Resource::<StoreEventsTable.*\\.Arn>\\/index\\/\\*$/g' },
          { regex: '/^Resource::<StoreImages.*\\.Arn>\\/accounts\\/\\*$/g' },
          { regex: '/^Resource::.*ExportsOutputFnGetAttStoreEntityTable.*Arn.*\\/index\\/\\*$/g' },
          { regex: '/^Resource::.*ExportsOutputFnGetAttStoreImages.*Arn.*\\/accounts\\/\\*$/g' },
        ],
      },
    ]);
  }

  /**
   * Rights the device functions hold only in the partitions of returned values and chip UID
   * claims (dynamodb:LeadingKeys): nothing else may they delete, or query outside the indexes.
   */
  private devicePartitionsStatement(tableArn: string, actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions,
      resources: [tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keys.deviceDeletablePartitions] } },
    });
  }

  /**
   * KMS actions on the keys of certificate authorities: keys of this account and region that
   * carry this deployment's CA tag. With `create`, also CreateKey and TagResource, allowed only
   * when the request tags the new key with that tag (and no tag keys but ours), so the role can
   * never make or take over a key it could not use anyway.
   */
  private grantCaKeys(grantee: ProjectFunction, tagValue: string, actions: string[], options: { create?: boolean } = {}): void {
    const keyArn = Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    const statements = [new iam.PolicyStatement({ actions, resources: [keyArn], conditions: { StringEquals: { [`aws:ResourceTag/${CA_KEY_TAG}`]: tagValue } } })];
    if (options.create) {
      const requestTags = {
        StringEquals: { [`aws:RequestTag/${CA_KEY_TAG}`]: tagValue },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [CA_KEY_TAG, 'flashline-account', 'flashline-certificate-authority'] },
      };
      // CreateKey names no key yet, so its resource is `*`: the request-tag condition is what scopes it.
      statements.push(new iam.PolicyStatement({ actions: ['kms:CreateKey'], resources: ['*'], conditions: requestTags }));
      statements.push(new iam.PolicyStatement({ actions: ['kms:TagResource'], resources: [keyArn], conditions: requestTags }));
    }
    // A policy of its own, so the wildcard suppression below covers these statements alone.
    const policy = new iam.Policy(this, `${grantee.node.id}CaKeys`, { statements });
    grantee.role!.attachInlinePolicy(policy);
    NagSuppressions.addResourceSuppressions(policy, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "Certificate authorities' KMS keys are created at run time, so no key ARN exists at deploy time: key/* of this account and region, " +
          "only for keys carrying this deployment's CA tag (aws:ResourceTag), and CreateKey (which names no resource) only with that tag in the request (aws:RequestTag). No wildcard actions.",
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:kms:[^:]+:[^:]+:key\\/\\*$/g' }, 'Resource::*'],
      },
    ]);
  }


  /**
   * S3 invokes the verifier on every upload under accounts/. The bucket is the stateful stack's,
   * so it is referenced here by name (CDK then merges this notification into the bucket's
   * configuration instead of owning all of it, and the stateful stack never names the function).
   * Lambda retries a failed event twice, then parks it in the stateful stack's dead-letter queue
   * (referenced by ARN too, so that its key is granted explicitly: SQS needs GenerateDataKey and
   * Decrypt to encrypt a message, nothing with a wildcard).
   */
  private routeUploadsToVerifier(data: FlashlineDataStack, verifier: ProjectFunction): void {
    const { store } = data;
    const bucket = s3.Bucket.fromBucketAttributes(this, 'ImagesBucketRef', { bucketArn: store.imagesBucket.bucketArn, bucketName: store.imagesBucket.bucketName });
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(verifier), { prefix: 'accounts/' });
    const failures = sqs.Queue.fromQueueArn(this, 'ImageVerifierFailuresRef', data.verifierFailures.queueArn);
    verifier.configureAsyncInvoke({ retryAttempts: 2, onFailure: new SqsDestination(failures) });
    data.notificationsKey.grant(verifier, 'kms:GenerateDataKey', 'kms:Decrypt');
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
  }
}
