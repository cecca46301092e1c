import { describe, expect, it } from 'vitest';
import { parseApiFlavour } from '../../infra/api-flavour.js';
import { call, createAccount, uniqueName } from '../support/api.js';

/**
 * What differs between the API Gateway flavours, and what must not (docs/api-gateway.md). The
 * suite runs on whichever flavour the harness deployed: FLASHLINE_API_FLAVOUR=rest|http (default
 * the stack's default).
 */
const flavour = parseApiFlavour(process.env.FLASHLINE_API_FLAVOUR);

describe(`the ${flavour} API flavour`, () => {
  it('routes account and device calls through the authorizer to their functions, in either event format', async () => {
    const admin = await createAccount(uniqueName('Flavour'));
    const account = await call('GET', 'v1/account', { token: admin.token });
    expect(account.status).toBe(200);
    expect(account.body.account.accountId).toBe(admin.accountId);
    // An account key on a device route reaches the device function, which refuses it by audience.
    const device = await call('GET', 'v1/device/jobs', { token: admin.token });
    expect(device.status).toBe(403);
    expect(device.body.error.code).toBe('forbidden');
  });

  it('answers an unknown token with the function 401 in the contract body', async () => {
    const response = await call('GET', 'v1/account', { token: 'flk.acc_nobody.key_nobody.not-a-secret-at-all-0000000000' });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthenticated');
  });

  it('answers a missing Authorization header with 401: the contract body on REST, API Gateway’s own on HTTP', async () => {
    const response = await call('GET', 'v1/account');
    expect(response.status).toBe(401);
    if (flavour === 'rest') expect(response.body).toEqual({ error: { code: 'unauthenticated', message: 'A valid bearer token is required' } });
    else expect(response.body).toEqual({ message: 'Unauthorized' });
  });

  it('serves the public routes without a token, and JSON 404 and 405 from the function', async () => {
    expect((await call('GET', 'v1/signing-keys')).status).toBe(200);
    const notFound = await call('GET', 'nothing-here');
    expect(notFound.status).toBe(404);
    expect(notFound.body.error.code).toBe('not_found');
    // Both flavours send every method of a public path to the function, without the authorizer:
    // another method is its 405 with Allow, token or not (schemathesis' undeclared-method check).
    for (const route of ['v1/openapi.json', 'v1/signing-keys']) {
      const wrongMethod = await call('POST', route);
      expect(wrongMethod.status, route).toBe(405);
      expect(wrongMethod.headers.get('allow'), route).toBe('GET');
    }
  });
});
