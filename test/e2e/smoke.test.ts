import { describe, expect, it } from 'vitest';
import { call, createAccount, uniqueName } from '../support/api.js';

describe('the deployed stack', () => {
  it('answers the account of an admin key created by the admin command', async () => {
    const credentials = await createAccount(uniqueName('Smoke'));
    const response = await call('GET', 'v1/account', { token: credentials.token });
    expect(response.status).toBe(200);
    expect(response.body.account.accountId).toBe(credentials.accountId);
  });

  it('refuses a request without a token with 401, from the authorizer-protected API', async () => {
    const response = await call('GET', 'v1/account');
    expect(response.status).toBe(401);
  });
});
