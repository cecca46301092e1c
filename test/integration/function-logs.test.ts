import { randomUUID } from 'node:crypto';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';
import { linesSince } from '../support/function-logs.js';

const logs = new CloudWatchLogsClient({
  endpoint: EMULATOR_AWS_ENV.AWS_ENDPOINT_URL,
  region: EMULATOR_AWS_ENV.AWS_REGION,
  credentials: { accessKeyId: EMULATOR_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: EMULATOR_AWS_ENV.AWS_SECRET_ACCESS_KEY },
});

/**
 * The e2e tests read functions' log lines back with linesSince; a group busier than one answer
 * (the fuzzer's management requests) once hid the lines a test looked for.
 */
describe('reading a log group back', () => {
  it('returns every line of a group holding more than one answer of FilterLogEvents, each once', async () => {
    const logGroupName = `/flashline-test/lines-since-${randomUUID()}`;
    const logStreamName = 'one';
    await logs.send(new CreateLogGroupCommand({ logGroupName }));
    await logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
    const start = Date.now() - 60_000;
    const total = 12_500;
    // 50 lines a millisecond: pages end inside a millisecond, whose lines must be neither lost nor doubled.
    const events = Array.from({ length: total }, (_, i) => ({ timestamp: start + Math.floor(i / 50), message: JSON.stringify({ line: i }) }));
    for (let i = 0; i < total; i += 5_000) await logs.send(new PutLogEventsCommand({ logGroupName, logStreamName, logEvents: events.slice(i, i + 5_000) }));

    const { lines } = await linesSince(logGroupName, start);
    expect(lines).toHaveLength(total);
    expect(new Set(lines.map((line) => line.line)).size).toBe(total);
    expect(lines.at(-1)).toEqual({ line: total - 1 });
  });
});
