import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccount, uniqueName } from '../support/api.js';
import { api } from '../support/checked-call.js';

/**
 * The API's public URL comes from the stack's configuration, never from the request: a caller
 * forging X-Forwarded-Host / X-Forwarded-Proto must not be able to plant its own host in the
 * OpenAPI `servers` (cached per container, so served to everyone after) nor in the `endpoint`
 * of a credentials file an admin hands to a programmer.
 */
const FORGED = { 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'http', forwarded: 'host=attacker.example' };

describe('public URL from configuration', () => {
  let admin: string;
  const apiUrl = () => inject('apiUrl');

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Public URL'))).token;
  });

  it('names the configured URL in the OpenAPI servers whatever the caller forwards', async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await api('GET', 'v1/openapi.json', { headers: FORGED });
      expect(response.status).toBe(200);
      expect(response.body.servers).toEqual([{ url: apiUrl() }]);
    }
  });

  it('writes the configured URL into the credentials files of new keys and programmers', async () => {
    const key = await api('POST', 'v1/api-keys', { token: admin, headers: FORGED, body: { name: 'forged', role: 'viewer' } });
    expect(key.status).toBe(201);
    expect(key.body.credentials.endpoint).toBe(apiUrl());
    const programmer = await api('POST', 'v1/programmers', { token: admin, headers: FORGED, body: { name: 'forged', hardwareSerial: randomUUID() } });
    expect(programmer.status).toBe(201);
    expect(programmer.body.credentials.endpoint).toBe(apiUrl());
    expect(JSON.stringify([key.body, programmer.body])).not.toContain('attacker.example');
  });
});
