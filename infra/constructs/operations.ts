import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PublicApi } from './http-api.js';
import { METRIC, METRICS_NAMESPACE, type MetricName } from '../../shared/observability/metric-names.js';

export interface OperationsProps {
  /** Either flavour's request, error and latency metrics (http-api.ts, rest-api.ts). */
  api: PublicApi['metrics'];
  functions: { authorizer: lambda.IFunction; management: lambda.IFunction; device: lambda.IFunction; authorizations: lambda.IFunction; verifier: lambda.IFunction };
  /** The image verifier's on-failure destination. */
  deadLetterQueue: sqs.IQueue;
  /** The events pipeline: its two functions and the queue of what it gave up on. */
  events: { relay: lambda.IFunction; delivery: lambda.IFunction; failures: sqs.IQueue };
  /** Encrypts the alarm topic; its policy lets CloudWatch publish (stateful stack). */
  notificationsKey: kms.IKey;
  /** Who gets the alarms by email (`-c alarmEmails=a@x,b@y`); more subscribers can be added to the topic by hand. */
  alarmEmails: string[];
  dashboardName: string;
  /**
   * Alarms on metric math (the 5xx rate, throttles summed over functions). Default true; off on
   * the local emulator, whose CloudFormation rejects them (MiniStack 1.5.33: "metric math is not
   * supported"). The dashboard keeps its math graphs there.
   */
  metricMathAlarms?: boolean;
}

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** Alarm thresholds, named so the README and the template tests say the same. */
export const ALARM_THRESHOLDS = {
  /** Percent of requests answered 5xx over five minutes. */
  serverErrorRatePercent: 1,
  /** Lambda throttles plus 429 `throttled` answers over five minutes. */
  throttles: 1,
  /** Authorizer invocations that failed (timeouts included) over five minutes: every caller is locked out meanwhile. */
  authorizerErrors: 1,
  /** Upload events waiting in the dead-letter queue. */
  deadLetters: 1,
  /** Verifications that failed (not rejected images: those are the uploader's) over five minutes. */
  verifierFailures: 1,
  /** Webhook deliveries that failed for 24 hours, or change batches the relay gave up on, waiting in the events failures queue. */
  eventFailures: 1,
  /** Relay invocations that failed over five minutes (it retries; events wait meanwhile). */
  relayErrors: 1,
} as const;

/**
 * What an operator looks at and what pages them: a CloudWatch dashboard of the API, the
 * programming line (authorizations, units, yield), throttles, KMS and verifier failures, and
 * alarms on the failures nobody should have to watch for, to one encrypted SNS topic.
 */
export class Operations extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { api, functions } = props;

    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Flashline alarms', masterKey: props.notificationsKey, enforceSSL: true });
    for (const email of props.alarmEmails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    // No label unless asked: an alarm on a labelled metric is written as metric math, which the emulator refuses.
    const emf = (name: MetricName, service: string, label?: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service }, statistic: 'Sum', period: MINUTE, label });
    const device = (name: MetricName) => emf(name, 'DeviceApi');
    const bothApis = (name: MetricName) => ({ device: emf(name, 'DeviceApi', `${name} (device)`), management: emf(name, 'ManagementApi', `${name} (management)`) });
    const sum = (expression: string, usingMetrics: Record<string, cloudwatch.IMetric>, label: string, period = FIVE_MINUTES) =>
      new cloudwatch.MathExpression({ expression, usingMetrics, label, period });

    // Sum: the Count metric's SampleCount is its number of datapoints.
    const requests = api.metricCount({ period: MINUTE, label: 'Requests', statistic: 'Sum' });
    const clientErrors = api.metricClientError({ period: MINUTE, label: '4xx' });
    const serverErrors = api.metricServerError({ period: MINUTE, label: '5xx' });
    const lambdaThrottles = Object.fromEntries(Object.entries(functions).map(([name, fn]) => [`${name}Throttles`, fn.metricThrottles({ period: FIVE_MINUTES })]));
    const throttledAnswers = bothApis(METRIC.throttles);
    const kmsErrors = bothApis(METRIC.kmsErrors);

    const serverErrorRate = sum('IF(requests > 0, 100 * errors / requests, 0)', { requests: api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' }), errors: api.metricServerError({ period: FIVE_MINUTES }) }, '5xx rate (%)');
    const throttles = sum(
      `${Object.keys(lambdaThrottles).map((key) => `FILL(${key}, 0)`).join(' + ')} + FILL(deviceThrottled, 0) + FILL(managementThrottled, 0)`,
      { ...lambdaThrottles, deviceThrottled: throttledAnswers.device.with({ period: FIVE_MINUTES }), managementThrottled: throttledAnswers.management.with({ period: FIVE_MINUTES }) },
      'Throttles (Lambda + 429 throttled)',
    );
    const verifierFailures = sum(
      'FILL(failed, 0) + FILL(errors, 0)',
      { failed: emf(METRIC.uploadsFailed, 'ImageVerifier').with({ period: FIVE_MINUTES }), errors: functions.verifier.metricErrors({ period: FIVE_MINUTES }) },
      'Verifier failures (records + invocations)',
    );
    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' });
    const yieldPercent = new cloudwatch.MathExpression({
      expression: 'IF(succeeded + failed > 0, 100 * succeeded / (succeeded + failed), 100)',
      usingMetrics: { succeeded: device(METRIC.unitsSucceeded), failed: device(METRIC.unitsFailed) },
      label: 'Yield (%)',
      period: MINUTE,
    });

    if (props.metricMathAlarms !== false) {
      this.alarm('ServerErrorRate', serverErrorRate, ALARM_THRESHOLDS.serverErrorRatePercent, '1% or more of the API requests answered 5xx over five minutes');
      this.alarm('Throttles', throttles, ALARM_THRESHOLDS.throttles, 'A function was throttled, or the API answered 429 throttled (AWS throttling outlasted the retries)');
    }
    this.alarm('AuthorizerErrors', functions.authorizer.metricErrors({ period: FIVE_MINUTES }), ALARM_THRESHOLDS.authorizerErrors, 'The authorizer failed: callers get 401 or 500 while it does');
    this.alarm('DeadLetters', deadLetters, ALARM_THRESHOLDS.deadLetters, 'Upload events are waiting in the image verifier dead-letter queue');
    // Failed records (EMF); a crash or timeout of the whole invocation ends in the dead-letter queue after the retries.
    this.alarm('VerifierFailures', emf(METRIC.uploadsFailed, 'ImageVerifier').with({ period: FIVE_MINUTES }), ALARM_THRESHOLDS.verifierFailures, 'The image verifier failed on an upload (it retries twice, then dead-letters it)');

    const eventFailures = props.events.failures.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' });
    this.alarm('EventFailures', eventFailures, ALARM_THRESHOLDS.eventFailures, 'A webhook delivery failed for 24 hours, or the event relay gave up on a batch of changes: see the events failures queue');
    this.alarm('EventRelayErrors', props.events.relay.metricErrors({ period: FIVE_MINUTES }), ALARM_THRESHOLDS.relayErrors, 'The event relay failed on a batch of changes (it retries; webhook events are delayed meanwhile)');

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) => new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    const refusalsByCode = new cloudwatch.MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},service,code} MetricName="${METRIC.refusals}"', 'Sum', 60)`,
      label: 'Refusals by code',
      period: MINUTE,
    });
    this.dashboard.addWidgets(
      graph('Requests and errors per minute', [requests], [clientErrors, serverErrors]),
      graph('Latency (ms)', [api.metricLatency({ period: MINUTE, statistic: 'p50', label: 'p50' }), api.metricLatency({ period: MINUTE, statistic: 'p99', label: 'p99' })]),
      graph('Refusals by code per minute', [refusalsByCode]),
    );
    this.dashboard.addWidgets(
      graph('Authorizations per minute', [device(METRIC.authorizations)]),
      graph('Units per minute', [device(METRIC.unitsAuthorized), device(METRIC.unitsSucceeded), device(METRIC.unitsFailed), device(METRIC.unitsReturned)]),
      graph('Yield (%)', [yieldPercent]),
    );
    this.dashboard.addWidgets(
      graph('Throttles', [throttles]),
      graph('KMS errors per minute', [kmsErrors.device, kmsErrors.management]),
      graph('Image verifier', [emf(METRIC.uploadsAvailable, 'ImageVerifier'), emf(METRIC.uploadsRejected, 'ImageVerifier'), verifierFailures], [deadLetters]),
    );
    const pipeline = (name: MetricName, service: string) => emf(name, service);
    this.dashboard.addWidgets(
      graph('Events published per minute', [pipeline(METRIC.eventsPublished, 'EventRelay')], [props.events.relay.metricErrors({ period: MINUTE, label: 'Relay errors' })]),
      graph('Webhook deliveries per minute', [pipeline(METRIC.webhookDelivered, 'WebhookDelivery'), pipeline(METRIC.webhookAttemptsFailed, 'WebhookDelivery'), pipeline(METRIC.webhookDeadLettered, 'WebhookDelivery')]),
      graph('Events failures queue', [eventFailures]),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }));
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      alarmDescription: description,
      // No traffic is no failure: a quiet night must not page anyone.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
