import { CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { ConsoleSite } from './constructs/console-site.js';
import { DataStore } from './constructs/data-store.js';
import { PeopleDirectory, type PeopleDirectoryProps } from './constructs/people-directory.js';
import { SIGNER_FUNCTIONS, signerRoleName } from './stack-names.js';

export interface FlashlineDataStackProps extends StackProps {
  removalPolicy: RemovalPolicy;
  /** Browser origins allowed by CORS; default: the deployed console's CloudFront origin. */
  corsOrigins?: string[];
  /** The console's bucket and CDN (not on emulators: they cannot run CloudFront). */
  console?: boolean;
  /** A custom console domain with its ACM certificate (us-east-1): TLS 1.2 minimum for viewers. */
  consoleDomain?: { name: string; certificateArn: string };
  /** The stateless stack's name: its signing roles are named after it (stack-names.ts). */
  statelessStackName: string;
  /** The user pool for people (console sign-in); undefined with `-c people=off` (API keys only, e.g. LocalStack's free plan). */
  people?: Pick<PeopleDirectoryProps, 'mfa' | 'sso' | 'domainPrefix' | 'emulatorEndpoint'>;
}

/**
 * Everything that holds data or identity and must outlive any deploy of the code: the tables,
 * the images bucket, the KMS keys, the image verifier's dead-letter queue, and the console's
 * bucket and CDN (its origin is the CORS origin the images bucket allows). Termination
 * protection and RETAIN in production. Nothing here references the stateless stack, which
 * takes what it needs through `FlashlineApiStackProps.data`.
 *
 * New tables, buckets, keys, queues that hold messages, secrets: here, exposed as a readonly
 * field; the stateless stack grants on them.
 */
export class FlashlineDataStack extends Stack {
  readonly store: DataStore;
  readonly consoleSite?: ConsoleSite;
  readonly corsOrigins: string[];
  /** Encrypts operational messages at rest: the alarm topic and the dead-letter queue. */
  readonly notificationsKey: kms.Key;
  /** Upload events the image verifier failed on after Lambda's retries (its on-failure destination). */
  readonly verifierFailures: sqs.Queue;
  /** Webhook deliveries to attempt: one message per attempt, delayed for the backoff (shared/store/webhook-delivery.ts). */
  readonly webhookDeliveries: sqs.Queue;
  /**
   * What the events pipeline gave up on: deliveries that failed for 24 hours, messages the
   * delivery function failed on five times, change batches the relay failed on after its retries.
   */
  readonly eventFailures: sqs.Queue;
  /** People's user pool and the console's app client; absent with `-c people=off`. */
  readonly people?: PeopleDirectory;

  constructor(scope: Construct, id: string, props: FlashlineDataStackProps) {
    super(scope, id, props);

    this.consoleSite = props.console ? new ConsoleSite(this, 'Console', { removalPolicy: props.removalPolicy, domain: props.consoleDomain }) : undefined;
    this.corsOrigins = props.corsOrigins ?? (this.consoleSite ? [this.consoleSite.origin] : []);

    // Construct ids as in the single stack: the same logical ids, so existing data stays in place.
    this.store = new DataStore(this, 'Store', { removalPolicy: props.removalPolicy, uploadCorsOrigins: this.corsOrigins });
    this.store.allowSigner(this.store.bindingKey, signerRoleArn(this, props.statelessStackName, SIGNER_FUNCTIONS.binding));
    this.store.allowSigner(this.store.ticketKey, signerRoleArn(this, props.statelessStackName, SIGNER_FUNCTIONS.ticket));

    this.people = props.people ? new PeopleDirectory(this, 'People', { ...props.people, removalPolicy: props.removalPolicy, consoleOrigins: this.corsOrigins }) : undefined;

    this.notificationsKey = new kms.Key(this, 'NotificationsKey', {
      description: 'Flashline alarm topic and dead-letter queue',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch alarms publish to the encrypted topic as the CloudWatch service, for this account only.
    this.notificationsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    // S3 invokes the verifier asynchronously: Lambda retries a failed event twice, then parks it
    // here (with the error) for an operator; the image meanwhile says why it is still pending.
    this.verifierFailures = new sqs.Queue(this, 'ImageVerifierFailures', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.notificationsKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    NagSuppressions.addResourceSuppressions(this.verifierFailures, [{ id: 'AwsSolutions-SQS3', reason: "This queue is the image verifier's dead-letter destination itself." }]);

    const queueDefaults = { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.notificationsKey, dataKeyReuse: Duration.hours(1), enforceSSL: true, removalPolicy: props.removalPolicy };
    this.eventFailures = new sqs.Queue(this, 'EventFailures', { ...queueDefaults, retentionPeriod: Duration.days(14) });
    NagSuppressions.addResourceSuppressions(this.eventFailures, [{ id: 'AwsSolutions-SQS3', reason: "This queue is the events pipeline's dead-letter queue itself." }]);
    this.webhookDeliveries = new sqs.Queue(this, 'WebhookDeliveries', {
      ...queueDefaults,
      // Six times the delivery function's timeout (AWS's advice for event source mappings).
      visibilityTimeout: Duration.minutes(2),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.eventFailures, maxReceiveCount: 5 },
    });

    if (this.consoleSite) new CfnOutput(this, 'ConsoleUrl', { value: this.consoleSite.url, description: 'The Flashline web console' });
    new CfnOutput(this, 'TableName', { value: this.store.table.tableName });
    new CfnOutput(this, 'EventsTableName', { value: this.store.eventsTable.tableName });
    new CfnOutput(this, 'ImagesBucketName', { value: this.store.imagesBucket.bucketName });
    new CfnOutput(this, 'SigningKeyId', { value: this.store.bindingKey.keyId });
    new CfnOutput(this, 'TicketKeyId', { value: this.store.ticketKey.keyId });
    new CfnOutput(this, 'EventFailuresQueueUrl', { value: this.eventFailures.queueUrl, description: 'Webhook deliveries and change batches the events pipeline gave up on' });
    new CfnOutput(this, 'ImageVerifierFailuresQueueUrl', { value: this.verifierFailures.queueUrl, description: 'Upload events the image verifier failed on, after retries' });
  }
}

function signerRoleArn(stack: Stack, statelessStackName: string, functionId: string): string {
  return stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: signerRoleName(statelessStackName, functionId) });
}
