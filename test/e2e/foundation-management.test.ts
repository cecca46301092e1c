import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { createAccount, uniqueName } from '../support/api.js';
import { api, secondsUntilStatus } from '../support/checked-call.js';

/**
 * The foundation as an account uses it over HTTP: accounts from the admin command, factories,
 * API keys and roles, programmers, and credentials that stop working once revoked.
 */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function expectCredentialsFile(credentials: CredentialsFileType, accountId: string, role: string) {
  expect(credentials).toEqual({
    endpoint: inject('apiUrl'),
    accountId,
    keyId: expect.stringMatching(ID),
    token: expect.any(String),
    role,
    ...(role === 'programmer' && { programmerId: credentials.keyId }),
  });
  expect(credentials.token.length).toBeGreaterThan(40);
}

describe('accounts from the admin command', () => {
  it('creates two independent accounts, each with an admin credentials file and a default factory', async () => {
    const [first, second] = await Promise.all([createAccount(uniqueName('Foundation one')), createAccount(uniqueName('Foundation two'))]);
    for (const credentials of [first, second]) {
      expectCredentialsFile(credentials, credentials.accountId, 'admin');
      const account = await api('GET', 'v1/account', { token: credentials.token });
      expect(account.status).toBe(200);
      expect(account.body.account).toMatchObject({ accountId: credentials.accountId, defaultFactoryId: expect.stringMatching(ID), name: expect.stringMatching(/^Foundation/) });
      const factories = await api('GET', 'v1/factories', { token: credentials.token });
      expect(factories.body).toEqual({
        items: [expect.objectContaining({ factoryId: account.body.account.defaultFactoryId, isDefault: true, programmerCount: 0 })],
        nextCursor: null,
      });
    }
    expect(first.accountId).not.toBe(second.accountId);
    expect(first.token).not.toBe(second.token);
  });
});

describe.each(['first', 'second'])('the %s account manages its foundation', () => {
  let admin: CredentialsFileType;
  let defaultFactoryId: string;
  const provision = async (body: Record<string, unknown>) => {
    const response = await api('POST', 'v1/programmers', { token: admin.token, body: { name: uniqueName('Programmer'), hardwareSerial: randomUUID(), ...body } });
    expect(response.status).toBe(201);
    return response.body as { programmer: Record<string, any>; credentials: CredentialsFileType };
  };

  beforeAll(async () => {
    admin = await createAccount(uniqueName('Foundation'));
    defaultFactoryId = (await api('GET', 'v1/account', { token: admin.token })).body.account.defaultFactoryId;
  });

  it('lists, creates, reads, renames and deletes factories', async () => {
    const name = uniqueName('Line');
    const created = await api('POST', 'v1/factories', { token: admin.token, body: { name } });
    expect(created.status).toBe(201);
    const factory = created.body.factory;
    expect(factory).toEqual({
      factoryId: expect.stringMatching(ID),
      name,
      isDefault: false,
      programmerCount: 0,
      openJobCount: 0,
      // No programmer.offline events until an admin sets the threshold.
      programmerOfflineMinutes: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });

    const read = await api('GET', `v1/factories/${factory.factoryId}`, { token: admin.token });
    expect(read).toMatchObject({ status: 200, body: { factory } });
    const listed = await api('GET', 'v1/factories', { token: admin.token });
    expect(listed.body.items.map((f: { factoryId: string }) => f.factoryId)).toEqual(expect.arrayContaining([defaultFactoryId, factory.factoryId]));

    const renamed = await api('PATCH', `v1/factories/${factory.factoryId}`, { token: admin.token, body: { name: `${name} renamed` } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.factory).toMatchObject({ factoryId: factory.factoryId, name: `${name} renamed` });
    expect((await api('GET', `v1/factories/${factory.factoryId}`, { token: admin.token })).body.factory.name).toBe(`${name} renamed`);
    // The offline threshold is set alone (the name stays), and removed with null.
    const watched = await api('PATCH', `v1/factories/${factory.factoryId}`, { token: admin.token, body: { programmerOfflineMinutes: 15 } });
    expect(watched.body.factory).toMatchObject({ name: `${name} renamed`, programmerOfflineMinutes: 15 });
    const unwatched = await api('PATCH', `v1/factories/${factory.factoryId}`, { token: admin.token, body: { programmerOfflineMinutes: null } });
    expect(unwatched.body.factory.programmerOfflineMinutes).toBeNull();
    // The old name is free again.
    const reuse = await api('POST', 'v1/factories', { token: admin.token, body: { name } });
    expect(reuse.status).toBe(201);

    const deleted = await api('DELETE', `v1/factories/${factory.factoryId}`, { token: admin.token });
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await api('GET', `v1/factories/${factory.factoryId}`, { token: admin.token })).status).toBe(404);
    expect((await api('DELETE', `v1/factories/${factory.factoryId}`, { token: admin.token })).status).toBe(404);
  });

  it('refuses a taken factory name with 409 name_taken, whatever its case, on create and rename', async () => {
    const name = uniqueName('Taken');
    expect((await api('POST', 'v1/factories', { token: admin.token, body: { name } })).status).toBe(201);
    for (const attempt of [name, name.toUpperCase(), ` ${name} `]) {
      const again = await api('POST', 'v1/factories', { token: admin.token, body: { name: attempt } });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('name_taken');
    }
    const other = (await api('POST', 'v1/factories', { token: admin.token, body: { name: uniqueName('Other') } })).body.factory;
    const rename = await api('PATCH', `v1/factories/${other.factoryId}`, { token: admin.token, body: { name } });
    expect(rename.status).toBe(409);
    expect(rename.body.error.code).toBe('name_taken');
  });

  it('keeps the default factory: 409 default_factory', async () => {
    const response = await api('DELETE', `v1/factories/${defaultFactoryId}`, { token: admin.token });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('default_factory');
    expect((await api('GET', `v1/factories/${defaultFactoryId}`, { token: admin.token })).status).toBe(200);
  });

  it('refuses to delete a factory while programmers remain: 409 factory_not_empty', async () => {
    const factory = (await api('POST', 'v1/factories', { token: admin.token, body: { name: uniqueName('Busy') } })).body.factory;
    const { programmer } = await provision({ factoryId: factory.factoryId });
    expect((await api('GET', `v1/factories/${factory.factoryId}`, { token: admin.token })).body.factory.programmerCount).toBe(1);
    const refused = await api('DELETE', `v1/factories/${factory.factoryId}`, { token: admin.token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('factory_not_empty');

    // Moving the programmer out empties the factory.
    const moved = await api('PATCH', `v1/programmers/${programmer.programmerId}`, { token: admin.token, body: { factoryId: defaultFactoryId } });
    expect(moved.body.programmer.factoryId).toBe(defaultFactoryId);
    expect((await api('DELETE', `v1/factories/${factory.factoryId}`, { token: admin.token })).status).toBe(204);
  });

  it('creates viewer, author and admin keys whose credentials files follow the contract, lists them without tokens, revokes', async () => {
    const issued: Record<string, { keyId: string; credentials: CredentialsFileType }> = {};
    for (const role of ['viewer', 'author', 'admin'] as const) {
      const response = await api('POST', 'v1/api-keys', { token: admin.token, body: { name: `${role} key`, role } });
      expect(response.status).toBe(201);
      expect(response.body.keyId).toBe(response.body.credentials.keyId);
      expectCredentialsFile(response.body.credentials, admin.accountId, role);
      expect(response.body.apiKey).toMatchObject({ keyId: response.body.keyId, name: `${role} key`, role, status: 'active', revokedAt: null });
      issued[role] = response.body;
    }

    const listed = await api('GET', 'v1/api-keys', { token: admin.token });
    expect(listed.status).toBe(200);
    const ids = listed.body.items.map((k: { keyId: string }) => k.keyId);
    expect(ids).toEqual(expect.arrayContaining([admin.keyId, ...Object.values(issued).map((k) => k.keyId)]));
    const text = JSON.stringify(listed.body);
    for (const { credentials } of Object.values(issued)) {
      expect(text).not.toContain(credentials.token);
      expect(text).not.toContain(credentials.token.split('.').at(-1));
    }
    expect(text).not.toMatch(/token|secret|hash/i);

    const revoked = await api('DELETE', `v1/api-keys/${issued.viewer?.keyId}`, { token: admin.token });
    expect(revoked.status).toBe(200);
    expect(revoked.body.apiKey).toMatchObject({ keyId: issued.viewer?.keyId, status: 'revoked', revokedAt: expect.stringMatching(ISO) });
    const again = await api('DELETE', `v1/api-keys/${issued.viewer?.keyId}`, { token: admin.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_revoked');
    expect((await api('DELETE', 'v1/api-keys/key_doesnotexist', { token: admin.token })).status).toBe(404);
    // A key cannot revoke itself (its holder would lock itself out); another admin key can.
    const itself = await api('DELETE', `v1/api-keys/${admin.keyId}`, { token: admin.token });
    expect(itself.status).toBe(409);
    expect(itself.body.error.code).toBe('key_in_use');
    expect((await api('GET', 'v1/account', { token: admin.token })).status).toBe(200);
    const after = await api('GET', 'v1/api-keys', { token: admin.token });
    expect(after.body.items.find((k: { keyId: string }) => k.keyId === issued.viewer?.keyId)).toMatchObject({ status: 'revoked' });
  });

  it('enforces roles: the new tokens work, a viewer cannot create, an author cannot manage keys', async () => {
    const key = async (role: string) => (await api('POST', 'v1/api-keys', { token: admin.token, body: { name: uniqueName(role), role } })).body.credentials.token as string;
    const [viewer, author, secondAdmin] = await Promise.all([key('viewer'), key('author'), key('admin')]);

    for (const token of [viewer, author, secondAdmin]) {
      expect((await api('GET', 'v1/account', { token })).body.account.accountId).toBe(admin.accountId);
      expect((await api('GET', 'v1/factories', { token })).status).toBe(200);
      expect((await api('GET', 'v1/programmers', { token })).status).toBe(200);
    }

    for (const [method, route, body] of [
      ['POST', 'v1/factories', { name: uniqueName('Viewer') }],
      ['POST', 'v1/programmers', { name: 'x', hardwareSerial: 'y' }],
      ['POST', 'v1/api-keys', { name: 'x', role: 'viewer' }],
      ['PATCH', `v1/factories/${defaultFactoryId}`, { name: 'x' }],
      ['POST', 'v1/images', { name: 'x', factoryId: defaultFactoryId, contentSha256: 'a'.repeat(64), sizeBytes: 1, delivery: 'direct' }],
    ] as const) {
      const response = await api(method, route, { token: viewer, body });
      expect(response.status, `${method} ${route}`).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    }

    for (const [method, route, body] of [
      ['POST', 'v1/api-keys', { name: 'x', role: 'viewer' }],
      ['GET', 'v1/api-keys', undefined],
      ['DELETE', `v1/api-keys/${admin.keyId}`, undefined],
      ['POST', 'v1/factories', { name: uniqueName('Author') }],
      ['GET', 'v1/audit', undefined],
    ] as const) {
      const response = await api(method, route, { token: author, body });
      expect(response.status, `${method} ${route}`).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    }
    // What an author is for: registering images.
    const image = await api('POST', 'v1/images', {
      token: author,
      body: { name: uniqueName('Image'), factoryId: defaultFactoryId, contentSha256: 'a'.repeat(64), sizeBytes: 1, delivery: 'direct' },
    });
    expect(image.status).toBe(201);

    // The new admin key administers.
    const made = await api('POST', 'v1/factories', { token: secondAdmin, body: { name: uniqueName('Second admin') } });
    expect(made.status).toBe(201);
    expect((await api('GET', 'v1/api-keys', { token: secondAdmin })).status).toBe(200);
  });

  it('provisions, lists, reads, moves, disables, updates and deprovisions programmers', async () => {
    const factory = (await api('POST', 'v1/factories', { token: admin.token, body: { name: uniqueName('Programmers') } })).body.factory;
    const hardwareSerial = randomUUID();
    const { programmer, credentials } = await provision({ hardwareSerial, encryptionKeyIds: ['key-a', 'key-a', 'key-b'] });
    expect(programmer).toEqual({
      programmerId: expect.stringMatching(ID),
      name: expect.any(String),
      hardwareSerial,
      factoryId: defaultFactoryId,
      status: 'active',
      encryptionKeyIds: ['key-a', 'key-b'],
      groupIds: [],
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      lastSeenAt: null,
    });
    expectCredentialsFile(credentials, admin.accountId, 'programmer');
    expect(credentials.programmerId).toBe(programmer.programmerId);
    expect((await api('GET', 'v1/device/jobs', { token: credentials.token })).status).toBe(200);

    const second = (await provision({ factoryId: factory.factoryId })).programmer;
    expect(second.factoryId).toBe(factory.factoryId);

    const all = await api('GET', 'v1/programmers', { token: admin.token });
    expect(all.body.items.map((p: { programmerId: string }) => p.programmerId)).toEqual(expect.arrayContaining([programmer.programmerId, second.programmerId]));
    expect(JSON.stringify(all.body)).not.toContain(credentials.token.split('.').at(-1));
    const inFactory = await api('GET', `v1/programmers?factoryId=${factory.factoryId}`, { token: admin.token });
    expect(inFactory.body.items.map((p: { programmerId: string }) => p.programmerId)).toEqual([second.programmerId]);
    const inDefault = await api('GET', `v1/programmers?factoryId=${defaultFactoryId}`, { token: admin.token });
    expect(inDefault.body.items.map((p: { programmerId: string }) => p.programmerId)).toContain(programmer.programmerId);
    expect(inDefault.body.items.map((p: { programmerId: string }) => p.programmerId)).not.toContain(second.programmerId);
    expect((await api('GET', 'v1/programmers?factoryId=fac_doesnotexist', { token: admin.token })).status).toBe(404);

    const read = await api('GET', `v1/programmers/${programmer.programmerId}`, { token: admin.token });
    expect(read.body.programmer).toMatchObject({ programmerId: programmer.programmerId, hardwareSerial });
    expect(read.body.programmer).toHaveProperty('lastSeenAt');

    const moved = await api('PATCH', `v1/programmers/${programmer.programmerId}`, { token: admin.token, body: { factoryId: factory.factoryId } });
    expect(moved.status).toBe(200);
    expect(moved.body.programmer.factoryId).toBe(factory.factoryId);
    expect((await api('GET', `v1/factories/${factory.factoryId}`, { token: admin.token })).body.factory.programmerCount).toBe(2);
    const movedList = await api('GET', `v1/programmers?factoryId=${factory.factoryId}`, { token: admin.token });
    expect(movedList.body.items.map((p: { programmerId: string }) => p.programmerId).sort()).toEqual([programmer.programmerId, second.programmerId].sort());
    expect((await api('PATCH', `v1/programmers/${programmer.programmerId}`, { token: admin.token, body: { factoryId: 'fac_doesnotexist' } })).status).toBe(404);

    const disabled = await api('PATCH', `v1/programmers/${programmer.programmerId}`, { token: admin.token, body: { status: 'disabled' } });
    expect(disabled.body.programmer).toMatchObject({ status: 'disabled', factoryId: factory.factoryId });
    const keys = await api('PATCH', `v1/programmers/${programmer.programmerId}`, { token: admin.token, body: { encryptionKeyIds: ['key-c'], name: 'Renamed' } });
    expect(keys.body.programmer).toMatchObject({ encryptionKeyIds: ['key-c'], name: 'Renamed', status: 'disabled' });
    expect((await api('GET', `v1/programmers/${programmer.programmerId}`, { token: admin.token })).body.programmer).toMatchObject({
      encryptionKeyIds: ['key-c'],
      name: 'Renamed',
      status: 'disabled',
      factoryId: factory.factoryId,
    });

    const gone = await api('DELETE', `v1/programmers/${programmer.programmerId}`, { token: admin.token });
    expect(gone.status).toBe(204);
    expect((await api('GET', `v1/programmers/${programmer.programmerId}`, { token: admin.token })).status).toBe(404);
    expect((await api('DELETE', `v1/programmers/${programmer.programmerId}`, { token: admin.token })).status).toBe(404);
    expect((await api('GET', `v1/factories/${factory.factoryId}`, { token: admin.token })).body.factory.programmerCount).toBe(1);
  });
});

describe('credentials that stop working', () => {
  it('answers 401 to a revoked key and a deprovisioned programmer within the authorizer cache TTL', async () => {
    const admin = await createAccount(uniqueName('Revocation'));
    const key = (await api('POST', 'v1/api-keys', { token: admin.token, body: { name: 'soon revoked', role: 'viewer' } })).body;
    const { programmer, credentials } = (
      await api('POST', 'v1/programmers', { token: admin.token, body: { name: 'soon gone', hardwareSerial: randomUUID() } })
    ).body;
    // Used once first, so that the authorizer's answer is in the cache when the credential goes.
    expect((await api('GET', 'v1/account', { token: key.credentials.token })).status).toBe(200);
    expect((await api('GET', 'v1/device/jobs', { token: credentials.token })).status).toBe(200);

    const revokedAt = Date.now();
    expect((await api('DELETE', `v1/api-keys/${key.keyId}`, { token: admin.token })).status).toBe(200);
    expect((await api('DELETE', `v1/programmers/${programmer.programmerId}`, { token: admin.token })).status).toBe(204);

    // 30 s of cache, plus slack for the polling interval and a busy machine.
    const [keySeconds, programmerSeconds] = await Promise.all([
      secondsUntilStatus(() => api('GET', 'v1/account', { token: key.credentials.token }), 401, revokedAt, 40),
      secondsUntilStatus(() => api('GET', 'v1/device/jobs', { token: credentials.token }), 401, revokedAt, 40),
    ]);
    expect(keySeconds).toBeLessThanOrEqual(40);
    expect(programmerSeconds).toBeLessThanOrEqual(40);

    const refused = await api('GET', 'v1/account', { token: key.credentials.token });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthenticated');
    // The admin who revoked is untouched.
    expect((await api('GET', 'v1/account', { token: admin.token })).status).toBe(200);
  });
});
