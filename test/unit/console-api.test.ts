import { describe, expect, it, vi } from 'vitest';
import { FlashlineApiError, createApiClient } from '../../console/src/api.js';
import { asApiError } from '../../console/src/hooks.js';
import * as contract from '../../shared/contract/index.js';

const API_URL = 'http://127.0.0.1:4566/_aws/execute-api/flashline/';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const apiError = (status: number, code: string, message: string) => json(status, { error: { code, message } });
// What a browser's fetch throws for a CORS refusal, DNS failure or no network: no reason given.
const browserNetworkError = () => new TypeError('Failed to fetch');

const job = {
  jobId: 'job_1',
  imageId: 'img_1',
  factoryId: 'fac_1',
  name: 'Bootloader v2',
  status: 'paused',
  restrictions: { maxCount: 100, notBefore: null, notAfter: null },
  serials: { start: 1, step: 1, format: 'SN{n}', next: 'SN1' },
  run: 1,
  counters: { authorized: 0, succeeded: 0, failed: 0, remaining: 100 },
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

/** The console's client over a fetch that answers from a script and records the requests. */
function consoleClient(answers: (Response | Error)[], onUnauthenticated?: (error: FlashlineApiError) => void) {
  const requests: { url: string; method: string; authorization: string | undefined }[] = [];
  const fetch = vi.fn(async (url: URL | RequestInfo, init?: RequestInit) => {
    requests.push({ url: String(url), method: init?.method ?? 'GET', authorization: (init?.headers as Record<string, string>).authorization });
    const answer = answers.shift();
    if (!answer) throw new Error('no scripted answer left');
    if (answer instanceof Error) throw answer;
    return answer;
  });
  const api = createApiClient(API_URL, 'flk.token', { onUnauthenticated, fetch: fetch as unknown as typeof globalThis.fetch });
  return { api, requests };
}

describe('the console API client', () => {
  it('calls the contract routes under the configured API URL with the session token', async () => {
    const { api, requests } = consoleClient([json(200, { job }), json(200, { items: [job], nextCursor: null })]);
    const { job: loaded } = await api.call(contract.getJob, { params: { jobId: 'job_1' } });
    expect(loaded.name).toBe('Bootloader v2');
    await api.listAll(contract.listJobs, { query: { limit: 100, factoryId: 'fac_1', status: undefined } });
    expect(requests).toEqual([
      { url: `${API_URL}v1/jobs/job_1`, method: 'GET', authorization: 'Bearer flk.token' },
      { url: `${API_URL}v1/jobs?limit=100&factoryId=fac_1`, method: 'GET', authorization: 'Bearer flk.token' },
    ]);
  });

  it('signs out when the API refuses the token, and still shows the error', async () => {
    const onUnauthenticated = vi.fn();
    const { api } = consoleClient([json(401, { message: 'Unauthorized' }), apiError(403, 'forbidden', 'Needs the author role')], onUnauthenticated);
    await expect(api.call(contract.getAccount)).rejects.toMatchObject({ status: 401, code: 'unauthenticated', message: 'Unauthorized' });
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
    // A refused role is not an expired session: the operator stays signed in.
    await expect(api.call(contract.pauseJob, { params: { jobId: 'job_1' } })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it("keeps the API's error code, message and details for the error notice", async () => {
    const { api } = consoleClient([json(409, { error: { code: 'invalid_transition', message: 'Cannot pause a job that is paused', details: { status: 'paused' } } })]);
    const error = asApiError(await api.call(contract.pauseJob, { params: { jobId: 'job_1' } }).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(FlashlineApiError);
    expect(error).toMatchObject({ status: 409, code: 'invalid_transition', message: 'Cannot pause a job that is paused', details: { status: 'paused' } });
  });

  it('names the API it could not reach, since browsers only say "Failed to fetch"', async () => {
    const { api } = consoleClient([browserNetworkError(), browserNetworkError(), browserNetworkError()]);
    const error = (await api.call(contract.getAccount).catch((e: unknown) => e)) as FlashlineApiError;
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
    expect(error.message).toContain('the API at http://127.0.0.1:4566 did not answer: offline, or it does not allow this origin');
  });

  it('retries a read that got no answer, but never a job action', async () => {
    const reads = consoleClient([browserNetworkError(), apiError(503, 'unavailable', 'try later'), json(200, { job })]);
    await expect(reads.api.call(contract.getJob, { params: { jobId: 'job_1' } })).resolves.toMatchObject({ job: { jobId: 'job_1' } });
    expect(reads.requests).toHaveLength(3);

    for (const route of [contract.pauseJob, contract.resumeJob, contract.restartJob, contract.deleteJob]) {
      for (const failure of [browserNetworkError(), apiError(503, 'unavailable', 'try later')]) {
        const actions = consoleClient([failure, json(200, { job })]);
        await expect(actions.api.call(route, { params: { jobId: 'job_1' } })).rejects.toBeInstanceOf(FlashlineApiError);
        expect(actions.requests).toHaveLength(1);
      }
    }
  });

  it('shows failures that are not API errors with a code of their own', () => {
    expect(asApiError(new RangeError('bad date'))).toMatchObject({ status: 0, code: 'console_error', message: 'bad date' });
  });
});
