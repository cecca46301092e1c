import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ENV, type FunctionEnvironment } from '../../shared/config.js';
import { EVENT_SOURCES } from '../../shared/store/keys.js';
import type { DataStore } from './data-store.js';
import { ProjectFunction } from './project-function.js';

export interface EventsPipelineProps {
  store: DataStore;
  /** One message per delivery attempt (stateful stack). */
  deliveries: sqs.IQueue;
  /** Where the pipeline parks what it gave up on (stateful stack); alarmed on. */
  failures: sqs.IQueue;
  /** Encrypts both queues. */
  queueKey: kms.IKey;
  logsKey: kms.IKey;
  /** Local stack only: webhooks may name http://localhost and deliveries reach private addresses. */
  allowPrivateWebhooks: boolean;
  /** First retry delay of a failed delivery (5 s in production; the local stack's tests use 1 s). */
  retryBaseSeconds: number;
  /** Reserved concurrency of each function (none on the local emulator). */
  reservedConcurrency: { relay?: number; delivery?: number; presence?: number };
}

/**
 * Events and webhooks (README "Events and webhooks"):
 *   entity table stream ─(filter: jobs, images, programmers, authorizations; MODIFY)→ EventRelay
 *     → one delivery item + one SQS message per subscribed webhook → WebhookDelivery (signs, POSTs,
 *     records the attempt, queues the next one with a delay) → after 24 h: the failures queue;
 *   EventBridge schedule (every minute) → PresenceCheck → marks silent programmers → stream.
 */
export class EventsPipeline extends Construct {
  readonly relay: ProjectFunction;
  readonly delivery: ProjectFunction;
  readonly presence: ProjectFunction;

  constructor(scope: Construct, id: string, props: EventsPipelineProps) {
    super(scope, id);
    const { store } = props;
    const tables: FunctionEnvironment = { [ENV.TABLE_NAME]: store.table.tableName, [ENV.EVENTS_TABLE_NAME]: store.eventsTable.tableName };

    this.relay = new ProjectFunction(scope, 'EventRelay', {
      entry: 'functions/event-relay/index.ts',
      description: 'Turns committed changes of jobs, images, programmers and authorizations into events and queues their webhook deliveries',
      environment: { ...tables, [ENV.WEBHOOK_QUEUE_URL]: props.deliveries.queueUrl },
      reservedConcurrency: props.reservedConcurrency.relay,
      logsKey: props.logsKey,
      timeout: Duration.seconds(60),
    });
    // Reads the account's webhooks, puts delivery items (once each, conditionally).
    store.grantTables(this.relay, { table: store.table, items: ['Query'] }, { table: store.eventsTable, items: ['PutItem'] });
    const changes = (filter: unknown) => lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('MODIFY'), dynamodb: { Keys: { sk: { S: filter } } } });
    // The mapping is built by hand rather than with DynamoEventSource, so that the stream grant is
    // explicit: the three stream calls on this table's stream, and ListStreams (which has no
    // resource-level permission) in a policy of its own, the only `*` of this role besides X-Ray.
    new lambda.EventSourceMapping(scope, 'EventRelayChanges', {
      target: this.relay,
      eventSourceArn: store.table.tableStreamArn!,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      // A failing batch is retried (halved each time, to isolate a bad record) for up to a day, then parked.
      bisectBatchOnError: true,
      retryAttempts: 1000,
      maxRecordAge: Duration.days(1),
      // Parked by ARN: the send grant is allowSend's below (SqsDlq's own grant carries wildcard KMS actions).
      onFailure: { bind: () => ({ destination: props.failures.queueArn }) },
      filters: [
        changes(lambda.FilterRule.beginsWith(EVENT_SOURCES.job.skPrefix)),
        changes(lambda.FilterRule.beginsWith(EVENT_SOURCES.image.skPrefix)),
        changes(lambda.FilterRule.beginsWith(EVENT_SOURCES.programmer.skPrefix)),
        changes(lambda.FilterRule.isEqual(EVENT_SOURCES.authorization.sk)),
      ],
    });
    this.relay.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [store.table.tableStreamArn!] }));
    const listStreams = new iam.Policy(scope, 'EventRelayStreamList', { roles: [this.relay.role!], statements: [new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] })] });
    NagSuppressions.addResourceSuppressions(listStreams, [{ id: 'AwsSolutions-IAM5', reason: 'dynamodb:ListStreams supports no resource-level permissions; Lambda needs it to read the stream.', appliesTo: ['Resource::*'] }]);
    this.allowSend(this.relay, props.deliveries, props.queueKey);
    this.allowSend(this.relay, props.failures, props.queueKey);

    this.delivery = new ProjectFunction(scope, 'WebhookDelivery', {
      entry: 'functions/webhook-delivery/index.ts',
      description: 'Signs (Standard Webhooks) and POSTs webhook deliveries, records each attempt, retries with backoff for 24 hours',
      reservedConcurrency: props.reservedConcurrency.delivery,
      environment: {
        ...tables,
        [ENV.DATA_KEY_ID]: store.dataKey.keyId,
        [ENV.WEBHOOK_QUEUE_URL]: props.deliveries.queueUrl,
        [ENV.WEBHOOK_DEAD_LETTER_URL]: props.failures.queueUrl,
        [ENV.WEBHOOK_ALLOW_PRIVATE]: String(props.allowPrivateWebhooks),
        [ENV.WEBHOOK_RETRY_BASE_SECONDS]: String(props.retryBaseSeconds),
      },
      logsKey: props.logsKey,
      // Ten deliveries at a time, each ending within its 5 s timeout.
      timeout: Duration.seconds(20),
    });
    // Reads the webhook (its sealed secret, opened with kms:Decrypt on the data key, which the
    // table grant carries) and the delivery; records attempts on the delivery.
    store.grantTables(this.delivery, { table: store.table, items: ['GetItem'] }, { table: store.eventsTable, items: ['GetItem', 'UpdateItem'] });
    this.delivery.addEventSource(new SqsEventSource(props.deliveries, { batchSize: 10, reportBatchItemFailures: true }));
    this.allowSend(this.delivery, props.deliveries, props.queueKey);
    this.allowSend(this.delivery, props.failures, props.queueKey);

    this.presence = new ProjectFunction(scope, 'PresenceCheck', {
      entry: 'functions/presence-check/index.ts',
      description: 'Marks programmers silent past their factory programmerOfflineMinutes (programmer.offline, once per silence)',
      environment: tables,
      reservedConcurrency: props.reservedConcurrency.presence,
      logsKey: props.logsKey,
      timeout: Duration.seconds(60),
    });
    store.grantTables(this.presence, { table: store.table, items: ['UpdateItem'], queriesIndexes: true });
    new events.Rule(scope, 'PresenceSchedule', { schedule: events.Schedule.rate(Duration.minutes(1)), targets: [new targets.LambdaFunction(this.presence, { retryAttempts: 2 })] });
  }

  /** SendMessage on one queue, and the queue key as SQS uses it to encrypt the message (no wildcard actions). */
  private allowSend(fn: ProjectFunction, queue: sqs.IQueue, key: kms.IKey): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    key.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
  }
}
