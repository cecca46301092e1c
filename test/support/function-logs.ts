import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { API_STACK_NAME } from '../../scripts/lib/stack.js';

/** The deployed functions' log groups, read back through CloudWatch Logs as an operator's tools read them. */
const aws = {
  endpoint: EMULATOR_AWS_ENV.AWS_ENDPOINT_URL,
  region: EMULATOR_AWS_ENV.AWS_REGION,
  credentials: { accessKeyId: EMULATOR_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: EMULATOR_AWS_ENV.AWS_SECRET_ACCESS_KEY },
};
const logs = new CloudWatchLogsClient(aws);

export type Line = Record<string, any>;

/** The function's own log group (ProjectFunction creates it), by its logical id in the stateless stack. */
export async function logGroupOf(functionId: string): Promise<string> {
  const { StackResources } = await new CloudFormationClient(aws).send(new DescribeStackResourcesCommand({ StackName: API_STACK_NAME }));
  const group = (StackResources ?? []).find((r) => r.ResourceType === 'AWS::Logs::LogGroup' && new RegExp(`^${functionId}Logs[0-9A-F]{8}$`).test(r.LogicalResourceId ?? ''));
  if (!group?.PhysicalResourceId) throw new Error(`${API_STACK_NAME} has no log group for ${functionId}`);
  return group.PhysicalResourceId;
}

export async function linesSince(logGroupName: string, startTime: number): Promise<{ lines: Line[]; raw: string[] }> {
  const raw: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await logs.send(new FilterLogEventsCommand({ logGroupName, startTime, nextToken }));
    raw.push(...(page.events ?? []).map((event) => event.message ?? ''));
    nextToken = page.nextToken;
  } while (nextToken);
  const lines = raw.flatMap((message) => {
    try {
      return [JSON.parse(message) as Line];
    } catch {
      return [];
    }
  });
  return { lines, raw };
}
