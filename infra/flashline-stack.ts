import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
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
}

/** Seconds API Gateway caches an authorizer answer: the longest a revoked credential keeps working. */
export const AUTHORIZER_CACHE_TTL_SECONDS = 30;

export class FlashlineStack extends Stack {
  constructor(scope: Construct, id: string, props: FlashlineStackProps) {
    super(scope, id, props);

    const consoleSite = props.console ? new ConsoleSite(this, 'Console', { removalPolicy: props.removalPolicy }) : undefined;
    const corsOrigins = props.corsOrigins ?? (consoleSite ? [consoleSite.origin] : []);

    const store = new DataStore(this, 'Store', { removalPolicy: props.removalPolicy, uploadCorsOrigins: corsOrigins });
    const tables = {
      TABLE_NAME: store.table.tableName,
      EVENTS_TABLE_NAME: store.eventsTable.tableName,
    };

    const authorizer = new ProjectFunction(this, 'Authorizer', {
      entry: 'functions/authorizer/index.ts',
      description: 'Resolves bearer tokens to account keys or programmers',
      environment: { TABLE_NAME: store.table.tableName },
      memorySize: 256,
      timeout: Duration.seconds(5),
    });
    store.grantTableRead(authorizer, store.table);

    const apiEnvironment = {
      ...tables,
      SIGNING_KEY_ID: store.bindingKey.keyId,
      TICKET_KEY_ID: store.ticketKey.keyId,
      IMAGES_BUCKET: store.imagesBucket.bucketName,
    };

    const management = new ProjectFunction(this, 'ManagementApi', {
      entry: 'functions/management-api/index.ts',
      description: 'Account-side API: keys, factories, programmers, images, jobs, audit',
      environment: apiEnvironment,
    });
    store.grantTableReadWrite(management, store.table, store.eventsTable);
    // Bindings are signed here; the JWKS (GET /v1/signing-keys) publishes both root keys.
    store.grantSign(store.bindingKey, management);
    store.grantPublicKeys(management, store.bindingKey, store.ticketKey);
    store.grantImageUpload(management);

    const device = new ProjectFunction(this, 'DeviceApi', {
      entry: 'functions/device-api/index.ts',
      description: 'Programmer API: jobs, downloads, authorizations, results, logs',
      environment: apiEnvironment,
      memorySize: 1024,
    });
    store.grantTableReadWrite(device, store.table, store.eventsTable);
    // Certifies its session keys with the ticket key; reads the binding key to verify bindings presented to it.
    store.grantSign(store.ticketKey, device);
    store.grantPublicKeys(device, store.bindingKey);
    store.grantImageRead(device);

    const verifier = new ProjectFunction(this, 'ImageVerifier', {
      entry: 'functions/image-verifier/index.ts',
      description: 'Recomputes size and SHA-256 of each uploaded image and marks it available or rejected',
      environment: { ...tables, IMAGES_BUCKET: store.imagesBucket.bucketName },
      timeout: Duration.minutes(5),
      memorySize: 1024,
    });
    store.grantTableReadWrite(verifier, store.table);
    store.grantImageRead(verifier);
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
