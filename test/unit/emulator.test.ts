import { describe, expect, it } from 'vitest';
import { detectEmulator, emulatorEndpointFrom, executeApiUrl, forcedEmulatorKind, workaroundsFor } from '../../localstack/emulator.js';

type Answer = { status: number; body?: unknown } | 'refused';

/** A fetch that answers each path as the table says, and records what was asked. */
function fakeFetch(answers: Record<string, Answer>) {
  const asked: string[] = [];
  const fetchImpl = async (url: string) => {
    asked.push(url);
    const answer = answers[new URL(url).pathname] ?? { status: 404, body: { error: 'unknown path' } };
    if (answer === 'refused') throw new TypeError('fetch failed: ECONNREFUSED');
    return { ok: answer.status >= 200 && answer.status < 300, status: answer.status, json: async () => answer.body };
  };
  return { fetchImpl, asked };
}

const MINISTACK_HEALTH = { services: { dynamodb: 'available' }, auth: 'disabled', edition: 'light', version: '1.5.33' };
const LOCALSTACK_HEALTH = { services: { dynamodb: 'running', apigateway: 'available' }, edition: 'pro', version: '4.14.0' };

describe('detectEmulator', () => {
  it('recognises MiniStack by its own health page, even though it answers LocalStack’s too', async () => {
    const { fetchImpl } = fakeFetch({ '/_ministack/health': { status: 200, body: MINISTACK_HEALTH }, '/_localstack/health': { status: 200, body: MINISTACK_HEALTH } });
    expect(await detectEmulator('http://127.0.0.1:4566/', fetchImpl)).toEqual({ kind: 'ministack', endpoint: 'http://127.0.0.1:4566', version: '1.5.33', edition: 'light' });
  });

  it('recognises LocalStack when only its health page answers, with its plan', async () => {
    const { fetchImpl, asked } = fakeFetch({ '/_localstack/health': { status: 200, body: LOCALSTACK_HEALTH } });
    expect(await detectEmulator('http://localhost:4566', fetchImpl)).toEqual({ kind: 'localstack', endpoint: 'http://localhost:4566', version: '4.14.0', edition: 'pro' });
    expect(asked).toEqual(['http://localhost:4566/_ministack/health', 'http://localhost:4566/_localstack/health']);
  });

  it('finds nothing where nothing listens or where neither health page exists (real AWS)', async () => {
    expect(await detectEmulator('http://127.0.0.1:4999', fakeFetch({ '/_ministack/health': 'refused', '/_localstack/health': 'refused' }).fetchImpl)).toBeUndefined();
    expect(await detectEmulator('https://dynamodb.eu-west-1.amazonaws.com', fakeFetch({}).fetchImpl)).toBeUndefined();
  });

  it('does not take a health page that is not JSON for a version', async () => {
    const fetchImpl = async () => ({ ok: true, status: 200, json: async () => 'healthy' });
    expect(await detectEmulator('http://127.0.0.1:4566', fetchImpl)).toEqual({ kind: 'ministack', endpoint: 'http://127.0.0.1:4566', version: undefined, edition: undefined });
  });
});

describe('forcedEmulatorKind', () => {
  it('reads FLASHLINE_EMULATOR in any case and refuses an unknown one', () => {
    expect(forcedEmulatorKind({})).toBeUndefined();
    expect(forcedEmulatorKind({ FLASHLINE_EMULATOR: ' LocalStack ' })).toBe('localstack');
    expect(forcedEmulatorKind({ FLASHLINE_EMULATOR: 'ministack' })).toBe('ministack');
    expect(() => forcedEmulatorKind({ FLASHLINE_EMULATOR: 'moto' })).toThrow(/not one of ministack, localstack/);
  });
});

describe('executeApiUrl', () => {
  it('serves the API under MiniStack’s execute-api path', () => {
    expect(executeApiUrl({ kind: 'ministack', endpoint: 'http://127.0.0.1:4571/' }, 'flashline')).toBe('http://127.0.0.1:4571/_aws/execute-api/flashline/');
  });

  it('serves it on LocalStack’s execute-api host name, on the emulator’s port, without a stage segment for $default', () => {
    expect(executeApiUrl({ kind: 'localstack', endpoint: 'http://localhost:4566' }, 'flashline')).toBe('http://flashline.execute-api.localhost.localstack.cloud:4566/');
    expect(executeApiUrl({ kind: 'localstack', endpoint: 'https://localstack.internal' }, 'abc123')).toBe('https://abc123.execute-api.localhost.localstack.cloud:443/');
  });

  it('adds the REST API’s stage as a path segment on either emulator', () => {
    expect(executeApiUrl({ kind: 'ministack', endpoint: 'http://127.0.0.1:4573' }, 'flashline', 'api')).toBe('http://127.0.0.1:4573/_aws/execute-api/flashline/api/');
    expect(executeApiUrl({ kind: 'localstack', endpoint: 'http://localhost:4566' }, 'flashline', 'api')).toBe('http://flashline.execute-api.localhost.localstack.cloud:4566/api/');
  });
});

describe('emulatorEndpointFrom and workaroundsFor', () => {
  it('uses the caller’s AWS_ENDPOINT_URL as given, else MiniStack on FLASHLINE_EMULATOR_PORT', () => {
    expect(emulatorEndpointFrom({ AWS_ENDPOINT_URL: 'http://localstack:4566/' })).toEqual({ endpoint: 'http://localstack:4566', chosenByCaller: true });
    expect(emulatorEndpointFrom({ FLASHLINE_EMULATOR_PORT: '4573' })).toEqual({ endpoint: 'http://127.0.0.1:4573', chosenByCaller: false });
    expect(emulatorEndpointFrom({})).toEqual({ endpoint: 'http://127.0.0.1:4566', chosenByCaller: false });
  });

  it('applies MiniStack’s CORS workaround and local start only to MiniStack', () => {
    expect(workaroundsFor('ministack')).toEqual({ reapplyHttpApiCors: true, canStartLocally: true });
    expect(workaroundsFor('localstack')).toEqual({ reapplyHttpApiCors: false, canStartLocally: false });
  });
});
