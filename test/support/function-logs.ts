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

/** The most events one FilterLogEvents answer carries (AWS's default and maximum `limit`). */
const FILTER_PAGE_LIMIT = 10_000;

/**
 * Every line since `startTime`. AWS pages with `nextToken`; MiniStack answers at most 10,000
 * events and never a token, so a busy group (the fuzzer's thousands of management requests
 * beside this test) hid everything after its first 10,000 lines. A full page without a token is
 * therefore continued from its last timestamp, the events of that millisecond read twice and
 * kept once.
 */
export async function linesSince(logGroupName: string, startTime: number): Promise<{ lines: Line[]; raw: string[] }> {
  const raw: string[] = [];
  const seen = new Set<string>();
  let from = startTime;
  let nextToken: string | undefined;
  for (;;) {
    const page = await logs.send(new FilterLogEventsCommand({ logGroupName, startTime: from, nextToken }));
    const events = page.events ?? [];
    for (const event of events) {
      const key = event.eventId ?? `${event.logStreamName}|${event.timestamp}|${event.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      raw.push(event.message ?? '');
    }
    nextToken = page.nextToken;
    if (nextToken) continue;
    const last = events.at(-1)?.timestamp;
    if (events.length < FILTER_PAGE_LIMIT || last === undefined || last === from) break;
    from = last;
  }
  const lines = raw.flatMap((message) => {
    try {
      return [JSON.parse(message) as Line];
    } catch {
      return [];
    }
  });
  return { lines, raw };
}
