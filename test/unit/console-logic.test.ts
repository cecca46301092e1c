import { describe, expect, it } from 'vitest';
import { formatYield, yieldOf } from '../../console/src/format.js';
import { ResultHistogram } from '../../console/src/incremental.js';
import { parseRoute } from '../../console/src/router.js';
import { CredentialsInputError, parseCredentialsInput } from '../../console/src/session.js';

describe('console sign-in input', () => {
  it('takes a bare token, with or without "Bearer"', () => {
    expect(parseCredentialsInput('  flk.a.b.c \n')).toEqual({ token: 'flk.a.b.c' });
    expect(parseCredentialsInput('Bearer flk.a.b.c')).toEqual({ token: 'flk.a.b.c' });
  });

  it('takes the whole credentials file and remembers its role', () => {
    const file = { endpoint: 'https://api.example/', accountId: 'acc_1', keyId: 'key_1', token: 'flk.x', role: 'viewer' };
    expect(parseCredentialsInput(JSON.stringify(file, null, 2))).toEqual({ token: 'flk.x', role: 'viewer', keyId: 'key_1', endpoint: 'https://api.example/' });
  });

  it('refuses programmer credentials, broken JSON and text with spaces, saying why', () => {
    expect(() => parseCredentialsInput(JSON.stringify({ token: 'flp.x', role: 'programmer' }))).toThrow(/programmer credentials/);
    expect(() => parseCredentialsInput('{ "token": ')).toThrow(CredentialsInputError);
    expect(() => parseCredentialsInput('two words')).toThrow(/no spaces/);
    expect(() => parseCredentialsInput('   ')).toThrow(/Paste/);
  });
});

describe('console routes', () => {
  it('parses the deep links the CLI prints', () => {
    expect(parseRoute('#/jobs/job_123')).toEqual({ page: 'job', jobId: 'job_123' });
    expect(parseRoute('#/factories/fac_1')).toEqual({ page: 'factory', factoryId: 'fac_1' });
    expect(parseRoute('')).toEqual({ page: 'dashboard' });
    expect(parseRoute('#/factories')).toEqual({ page: 'factories' });
    expect(parseRoute('#/factories/fac_1/publish')).toEqual({ page: 'publish', factoryId: 'fac_1' });
    expect(parseRoute('#/images/new')).toEqual({ page: 'publish' });
    expect(parseRoute('#/images/img_1')).toEqual({ page: 'image', imageId: 'img_1' });
    expect(parseRoute('#/audit')).toEqual({ page: 'audit' });
    expect(parseRoute('#/jobs/a/b')).toEqual({ page: 'not-found', path: '/jobs/a/b' });
  });
});

describe('yield', () => {
  it('is succeeded / (succeeded + failed), and undefined before the first result', () => {
    expect(formatYield(yieldOf({ authorized: 24, succeeded: 21, failed: 3, returned: 0, remaining: 76 }))).toBe('87.5 %');
    expect(formatYield(yieldOf({ authorized: 5, succeeded: 0, failed: 0, returned: 0, remaining: null }))).toBe('—');
  });
});

describe('the results histogram', () => {
  it('keeps at least 24 one-minute bars for a short burst, the burst at the right', () => {
    const histogram = new ResultHistogram();
    const start = Date.parse('2026-01-01T10:00:00Z');
    for (let i = 0; i < 10; i++) histogram.add(new Date(start + i * 30_000).toISOString(), i === 3 ? 'failure' : 'success');
    const buckets = histogram.buckets();
    expect(buckets).toHaveLength(24);
    expect(buckets.every((b) => b.minutes === 1)).toBe(true);
    expect(buckets.slice(-5).map((b) => [b.success, b.failure])).toEqual([[2, 0], [1, 1], [2, 0], [2, 0], [2, 0]]);
    expect([histogram.succeeded, histogram.failed]).toEqual([9, 1]);
  });

  it('widens the bars for a long run so at most 48 are drawn', () => {
    const histogram = new ResultHistogram();
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (let hour = 0; hour < 30; hour++) histogram.add(new Date(start + hour * 3600_000).toISOString(), 'success');
    const buckets = histogram.buckets();
    expect(buckets.length).toBeLessThanOrEqual(48);
    expect(buckets[0]!.minutes).toBe(60);
    expect(buckets.reduce((sum, b) => sum + b.success, 0)).toBe(30);
  });
});
