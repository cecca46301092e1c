import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthFlashline } from './synth.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** LocalStack's service name for each CloudFormation namespace the stack may use; a new namespace fails the test until it is named here. */
const SERVICE_OF_NAMESPACE: Record<string, string | null> = {
  ApiGateway: 'apigateway',
  ApiGatewayV2: 'apigatewayv2',
  CDK: null,
  CloudWatch: 'cloudwatch',
  Cognito: 'cognito-idp',
  DynamoDB: 'dynamodb',
  Events: 'events',
  IAM: 'iam',
  KMS: 'kms',
  Lambda: 'lambda',
  Logs: 'logs',
  S3: 's3',
  SecretsManager: 'secretsmanager',
  SNS: 'sns',
  SQS: 'sqs',
  SSM: 'ssm',
};

/** The SERVICES list of localstack/docker-compose.yml. */
function composeServices(): Set<string> {
  const compose = readFileSync(path.join(ROOT, 'localstack/docker-compose.yml'), 'utf8');
  const line = compose.split('\n').find((text) => text.trim().startsWith('- SERVICES='));
  if (!line) throw new Error('localstack/docker-compose.yml sets no SERVICES');
  return new Set(line.trim().slice('- SERVICES='.length).split(',').map((name) => name.trim()));
}

/** What LocalStack must serve for a deployment as the local harness makes it (no console CDN). */
function servicesNeeded(apiFlavour: 'http' | 'rest'): string[] {
  const { merged } = synthFlashline({ apiFlavour, console: false, bundle: false });
  const needed = new Set(['cloudformation', 'sts']);
  for (const resource of Object.values<{ Type: string; Properties?: Record<string, unknown> }>(merged.Resources)) {
    // A custom resource runs a Lambda function of CDK's (e.g. Custom::S3BucketNotifications).
    if (resource.Type.startsWith('Custom::')) {
      needed.add('lambda');
      continue;
    }
    const namespace = resource.Type.split('::')[1]!;
    expect(SERVICE_OF_NAMESPACE, `${resource.Type}: name its LocalStack service in SERVICE_OF_NAMESPACE`).toHaveProperty(namespace);
    const service = SERVICE_OF_NAMESPACE[namespace];
    if (service) needed.add(service);
    // A function fed by a table's stream reads it through the DynamoDB Streams API.
    if (resource.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(resource.Properties?.EventSourceArn ?? '').includes('StreamArn')) needed.add('dynamodbstreams');
  }
  return [...needed].sort();
}

/** README "LocalStack, exactly": the compose file enables every service the stack deploys or calls. */
describe('localstack/docker-compose.yml', () => {
  it.each(['http', 'rest'] as const)('enables every service a %s-flavour deployment needs', (flavour) => {
    const enabled = composeServices();
    expect(servicesNeeded(flavour).filter((service) => !enabled.has(service))).toEqual([]);
  });
});
