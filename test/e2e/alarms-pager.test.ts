import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm, PutMetricDataCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { API_STACK_NAME } from '../../scripts/lib/stack.js';

const aws = {
  endpoint: EMULATOR_AWS_ENV.AWS_ENDPOINT_URL,
  region: EMULATOR_AWS_ENV.AWS_REGION,
  credentials: { accessKeyId: EMULATOR_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: EMULATOR_AWS_ENV.AWS_SECRET_ACCESS_KEY },
};
const cloudwatch = new CloudWatchClient(aws);
const sns = new SNSClient(aws);
const sqs = new SQSClient(aws);

/** The alarms the stateless stack deploys on the emulator (metric-math ones are left out there), by logical id prefix. */
const PAGED = ['AuthorizerErrors', 'DeadLetters', 'VerifierFailures', 'EventFailures', 'EventRelayErrors'] as const;

interface Notification {
  AlarmName: string;
  NewStateValue: string;
  Trigger: { MetricName: string; Namespace: string };
}

async function deployedAlarms(): Promise<Map<string, MetricAlarm>> {
  const { StackResources } = await new CloudFormationClient(aws).send(new DescribeStackResourcesCommand({ StackName: API_STACK_NAME }));
  const names = new Map<string, string>();
  for (const resource of StackResources ?? []) {
    if (resource.ResourceType !== 'AWS::CloudWatch::Alarm' || !resource.PhysicalResourceId) continue;
    const id = PAGED.find((name) => new RegExp(`^Operations${name}[0-9A-F]{8}$`).test(resource.LogicalResourceId ?? ''));
    if (id) names.set(resource.PhysicalResourceId, id);
  }
  const { MetricAlarms } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...names.keys()] }));
  return new Map((MetricAlarms ?? []).map((alarm) => [names.get(alarm.AlarmName!)!, alarm]));
}

/**
 * What reaches a pager, on the deployed stack: each alarm, when its metric crosses the threshold,
 * notifies the alarm topic, where pagers and the `-c alarmEmails` addresses subscribe. A queue
 * stands in for the pager here. MiniStack neither turns EMF lines into metrics nor publishes
 * AWS/Lambda or AWS/SQS metrics, so the test puts the datum CloudWatch would (the alarm's own
 * namespace, name and dimensions, read back from the deployed alarm) and times the notification.
 * On AWS add the alarm's period (five minutes) and CloudWatch's evaluation lag to that figure.
 */
describe('alarms page through the alarm topic', () => {
  let alarms: Map<string, MetricAlarm>;
  let queueUrl: string;
  let subscriptionArn: string | undefined;
  const delays: Record<string, number> = {};

  beforeAll(async () => {
    alarms = await deployedAlarms();
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `pager-${Date.now()}` }))).QueueUrl!;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    subscriptionArn = (await sns.send(new SubscribeCommand({ TopicArn: inject('alarmTopicArn'), Protocol: 'sqs', Endpoint: Attributes!.QueueArn!, ReturnSubscriptionArn: true }))).SubscriptionArn;
  });

  afterAll(async () => {
    if (subscriptionArn) await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }));
    if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    console.log(`alarm → topic → pager queue, from the datum put to the message received (ms): ${JSON.stringify(delays)}`);
  });

  it('deploys every paging alarm with the topic as its alarm and OK action', () => {
    expect([...alarms.keys()].sort()).toEqual([...PAGED].sort());
    for (const alarm of alarms.values()) {
      expect(alarm.AlarmActions).toEqual([inject('alarmTopicArn')]);
      expect(alarm.OKActions).toEqual([inject('alarmTopicArn')]);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
  });

  it.each(PAGED)('%s: its metric at the threshold notifies the topic', async (id) => {
    const alarm = alarms.get(id)!;
    // From a known state: the same stack may have run this file before, leaving the alarm in ALARM.
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm.AlarmName, StateValue: 'OK', StateReason: 'test starts from OK' }));
    const started = Date.now();
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: alarm.Namespace,
        MetricData: [{ MetricName: alarm.MetricName, Dimensions: alarm.Dimensions, Value: alarm.Threshold, Timestamp: new Date() }],
      }),
    );
    const notification = await receiveAlarm(queueUrl, alarm.AlarmName!, started + 30_000);
    delays[id] = Date.now() - started;
    expect(notification).toMatchObject({ AlarmName: alarm.AlarmName, NewStateValue: 'ALARM', Trigger: { MetricName: alarm.MetricName, Namespace: alarm.Namespace } });
  });
});

/** Reads the pager queue until the named alarm's ALARM notification arrives (others' notifications and OKs are passed over). */
async function receiveAlarm(queueUrl: string, alarmName: string, deadline: number): Promise<Notification | undefined> {
  while (Date.now() < deadline) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const message of Messages ?? []) {
      const envelope = JSON.parse(message.Body ?? '{}') as { Message?: string };
      const notification = JSON.parse(envelope.Message ?? message.Body ?? '{}') as Notification;
      if (notification.AlarmName === alarmName && notification.NewStateValue === 'ALARM') return notification;
    }
  }
  return undefined;
}
