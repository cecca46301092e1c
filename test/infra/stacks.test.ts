import { type Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALARM_THRESHOLDS } from '../../infra/constructs/operations.js';
import { STACK_NAMES } from '../../infra/stack-names.js';
import { ENV } from '../../shared/config.js';
import { METRIC, METRICS_NAMESPACE } from '../../shared/observability/metric-names.js';
import { synthFlashline } from './synth.js';

/**
 * The split into a stateful and a stateless stack, and the operations layer of the stateless
 * one (dashboard, alarms, topic, dead-letter queue), on the templates `cdk deploy` produces for
 * AWS. No asset bundling: the functions' code is not what these tests read.
 */
type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

/** What holds data or identity: it must live in the stateful stack only. */
const STATEFUL_TYPES = ['AWS::DynamoDB::GlobalTable', 'AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SQS::Queue', 'AWS::SecretsManager::Secret', 'AWS::CloudFront::Distribution'];

describe('the stack split', () => {
  let data: Stack;
  let api: Stack;
  let dataTemplate: Template;
  let apiTemplate: Template;
  let dataResources: Resources;
  let apiResources: Resources;

  beforeAll(() => {
    const synthesized = synthFlashline({ console: true, bundle: false, alarmEmails: ['oncall@example.com', 'line-lead@example.com'] });
    ({ dataTemplate, apiTemplate } = synthesized);
    ({ data, api } = synthesized.stacks);
    dataResources = dataTemplate.toJSON().Resources as Resources;
    apiResources = apiTemplate.toJSON().Resources as Resources;
  });

  it('keeps the single stack’s name for the stateful stack, so an existing deployment’s data keeps its logical ids', () => {
    expect(data.stackName).toBe(STACK_NAMES.stateful);
    expect(data.stackName).toBe('Flashline');
    expect(api.stackName).toBe(STACK_NAMES.stateless);
    // The construct paths of the single stack: Store/EntityTable → StoreEntityTable…, and so on.
    for (const prefix of ['StoreEntityTable', 'StoreEventsTable', 'StoreImages', 'StoreDataKey', 'StoreSigningKey', 'StoreTicketKey', 'StoreLogsKey', 'ImageVerifierFailures']) {
      expect(Object.keys(dataResources).filter((id) => id.startsWith(prefix)).length, prefix).toBeGreaterThan(0);
    }
  });

  it('puts every table, bucket, key, queue and CDN in the stateful stack, retained, with termination protection', () => {
    expect(data.terminationProtection).toBe(true);
    const stateful = Object.entries(dataResources).filter(([, r]) => STATEFUL_TYPES.includes(r.Type));
    expect(stateful.length).toBeGreaterThanOrEqual(10);
    for (const [id, resource] of stateful.filter(([, r]) => r.Type !== 'AWS::CloudFront::Distribution')) {
      expect(resource.DeletionPolicy, id).toBe('Retain');
      expect(resource.UpdateReplacePolicy, id).toBe('Retain');
    }
    expect(Object.entries(apiResources).filter(([, r]) => STATEFUL_TYPES.includes(r.Type))).toEqual([]);
  });

  it('puts every function, the API, the alarms and the dashboard in the stateless stack', () => {
    const typesOf = (resources: Resources) => new Set(Object.values(resources).map((r) => r.Type));
    for (const type of ['AWS::Lambda::Function', 'AWS::ApiGatewayV2::Api', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::SNS::Topic']) {
      expect(typesOf(apiResources).has(type), type).toBe(true);
      expect(typesOf(dataResources).has(type), type).toBe(false);
    }
  });

  it('wires the stacks one way: the stateless stack imports what the stateful one exports, never the reverse', () => {
    expect(api.dependencies).toContain(data);
    expect(data.dependencies).not.toContain(api);
    expect(JSON.stringify(dataTemplate.toJSON())).not.toContain('Fn::ImportValue');
    expect(JSON.stringify(apiTemplate.toJSON())).toContain('Fn::ImportValue');
  });

  it('sets only environment variables named in shared/config.ts, on every function', () => {
    const named = new Set<string>(Object.values(ENV));
    const functions = Object.values(apiResources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment);
    const ours = functions.filter((r) => r.Properties?.Environment.Variables.POWERTOOLS_SERVICE_NAME);
    expect(ours).toHaveLength(9);
    for (const fn of ours) {
      for (const name of Object.keys(fn.Properties?.Environment.Variables)) expect(named.has(name), name).toBe(true);
    }
  });

  it('names each signing key’s signer role before the role exists, and the role carries that name', () => {
    const keyPolicies = JSON.stringify(Object.values(dataResources).filter((r) => r.Type === 'AWS::KMS::Key').map((r) => r.Properties?.KeyPolicy));
    for (const signer of ['ManagementApi', 'DeviceAuthorizations']) {
      const roleName = `${STACK_NAMES.stateless}-${signer}-signer`;
      expect(keyPolicies).toContain(`:role/${roleName}`);
      apiTemplate.hasResourceProperties('AWS::IAM::Role', { RoleName: roleName });
    }
  });

  describe('operations', () => {
    const alarmsByName = () => Object.fromEntries(Object.entries(apiResources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm').map(([id, r]) => [id.replace(/^Operations/, '').replace(/[0-9A-F]{8}$/, ''), r.Properties!]));
    const topicId = () => Object.keys(apiResources).find((id) => apiResources[id]?.Type === 'AWS::SNS::Topic')!;

    it('alarms on the 5xx rate, throttles, authorizer errors, dead letters and verifier failures, to the topic, both ways', () => {
      const alarms = alarmsByName();
      expect(Object.keys(alarms).sort()).toEqual(['AuthorizerErrors', 'DeadLetters', 'EventFailures', 'EventRelayErrors', 'ServerErrorRate', 'Throttles', 'VerifierFailures']);
      for (const [name, alarm] of Object.entries(alarms)) {
        expect(alarm.AlarmActions, name).toEqual([{ Ref: topicId() }]);
        expect(alarm.OKActions, name).toEqual([{ Ref: topicId() }]);
        expect(alarm.TreatMissingData, name).toBe('notBreaching');
        expect(alarm.ComparisonOperator, name).toBe('GreaterThanOrEqualToThreshold');
      }
      expect(alarms.ServerErrorRate?.Threshold).toBe(ALARM_THRESHOLDS.serverErrorRatePercent);
    });

    it('computes the 5xx alarm as a rate of the API’s requests, and sums Lambda throttles of all five functions with 429 throttled answers', () => {
      const { ServerErrorRate, Throttles } = alarmsByName();
      const rate = JSON.stringify(ServerErrorRate?.Metrics);
      expect(rate).toContain('100 * errors / requests');
      expect(rate).toContain('"MetricName":"5xx"');
      expect(rate).toContain('"MetricName":"Count"');
      const throttles = JSON.stringify(Throttles?.Metrics);
      expect(throttles.match(/"MetricName":"Throttles","Namespace":"AWS\/Lambda"/g)).toHaveLength(5);
      expect(throttles.match(new RegExp(`"MetricName":"${METRIC.throttles}","Namespace":"${METRICS_NAMESPACE}"`, 'g'))).toHaveLength(2);
    });

    it('alarms on the authorizer’s Lambda errors, the dead-letter queue’s depth and the verifier’s failed records', () => {
      const { AuthorizerErrors, DeadLetters, VerifierFailures } = alarmsByName();
      expect(AuthorizerErrors).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum' });
      expect(JSON.stringify(AuthorizerErrors?.Dimensions)).toMatch(/Authorizer/);
      expect(DeadLetters).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
      expect(JSON.stringify(DeadLetters?.Dimensions)).toContain('ImageVerifierFailures');
      expect(VerifierFailures).toMatchObject({ Namespace: METRICS_NAMESPACE, MetricName: METRIC.uploadsFailed, Dimensions: [{ Name: 'service', Value: 'ImageVerifier' }] });
    });

    it('alarms on the events pipeline: its failures queue (deliveries failed for 24 hours, relay batches given up) and relay errors', () => {
      const { EventFailures, EventRelayErrors } = alarmsByName();
      expect(EventFailures).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: ALARM_THRESHOLDS.eventFailures });
      expect(JSON.stringify(EventFailures?.Dimensions)).toContain('EventFailures');
      expect(EventRelayErrors).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors' });
      expect(JSON.stringify(EventRelayErrors?.Dimensions)).toMatch(/EventRelay/);
    });

    it('sends alarms to a KMS-encrypted, TLS-only topic with the configured email subscribers, a key CloudWatch may use', () => {
      const topic = apiResources[topicId()]!;
      expect(JSON.stringify(topic.Properties?.KmsMasterKeyId)).toContain('NotificationsKey');
      apiTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
      const emails = Object.values(apiResources).filter((r) => r.Type === 'AWS::SNS::Subscription').map((r) => [r.Properties?.Protocol, r.Properties?.Endpoint]);
      expect(emails).toEqual([
        ['email', 'oncall@example.com'],
        ['email', 'line-lead@example.com'],
      ]);
      const key = Object.entries(dataResources).find(([id]) => id.startsWith('NotificationsKey'))![1];
      const forCloudWatch = (key.Properties?.KeyPolicy.Statement as any[]).filter((s) => JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'));
      expect(forCloudWatch).toHaveLength(1);
      expect(forCloudWatch[0].Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(forCloudWatch[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
    });

    it('has no email subscriber unless configured', () => {
      const { apiTemplate: bare } = synthFlashline({ bundle: false });
      bare.resourceCountIs('AWS::SNS::Subscription', 0);
      bare.resourceCountIs('AWS::SNS::Topic', 1);
    });

    it('draws a dashboard of requests, 4xx/5xx, latency p50/p99, authorizations, units, yield, throttles, KMS errors and the verifier', () => {
      const dashboards = Object.values(apiResources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
      const titles = [
        'Requests and errors per minute',
        'Latency (ms)',
        'Refusals by code per minute',
        'Authorizations per minute',
        'Units per minute',
        'Yield (%)',
        'Throttles',
        'KMS errors per minute',
        'Image verifier',
        'Alarms',
      ];
      for (const title of titles) expect(body, title).toContain(`\\"title\\":\\"${title}\\"`);
      for (const stat of ['p50', 'p99']) expect(body).toContain(`\\"stat\\":\\"${stat}\\"`);
      const graphed = Object.values(METRIC).filter((m) => m !== METRIC.tokensRefused && m !== METRIC.refusals);
      for (const metric of ['4xx', '5xx', 'Count', 'Latency', ...graphed]) expect(body, metric).toContain(`\\"${metric}\\"`);
      // Refusals, one line per code: found by a search over the code dimension.
      expect(body).toContain(`SEARCH('{${METRICS_NAMESPACE},service,code} MetricName=`);
      expect(body).toContain(METRIC.refusals);
      // Requests are counted with Sum (SampleCount of Count is the number of datapoints, not of requests).
      expect(body).toMatch(/\\"Count\\",\\"ApiId\\",\\"",\{"Ref":"HttpApi[0-9A-F]+"\},"\\",\{\\"label\\":\\"Requests\\",\\"period\\":60,\\"stat\\":\\"Sum\\"/);
      expect(body).toContain('100 * succeeded / (succeeded + failed)');
    });

    it('parks failed verifier events in the KMS-encrypted dead-letter queue of the stateful stack', () => {
      const queue = Object.entries(dataResources).find(([id, r]) => r.Type === 'AWS::SQS::Queue' && id.startsWith('ImageVerifierFailures'))!;
      expect(JSON.stringify(queue[1].Properties?.KmsMasterKeyId)).toContain('NotificationsKey');
      apiTemplate.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::ImportValue': Match.stringLikeRegexp('ImageVerifierFailures') } } },
      });
    });

    it('leaves out only the metric-math alarms where the emulator cannot create them', () => {
      const { apiTemplate: local } = synthFlashline({ bundle: false, metricMathAlarms: false });
      const names = Object.keys(local.findResources('AWS::CloudWatch::Alarm')).map((id) => id.replace(/^Operations/, '').replace(/[0-9A-F]{8}$/, ''));
      expect(names.sort()).toEqual(['AuthorizerErrors', 'DeadLetters', 'EventFailures', 'EventRelayErrors', 'VerifierFailures']);
      local.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    });
  });
});
