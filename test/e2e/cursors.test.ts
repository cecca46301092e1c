import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CURSOR_LENGTH } from '../../shared/domain/cursors.js';
import { createAccount, uniqueName } from '../support/api.js';
import { api } from '../support/checked-call.js';

/** Cursors on the deployed stack: signed by the deployment's key, refused when not this list's. */
describe('list cursors', () => {
  let admin: string;
  let other: string;
  let firstPage: { items: { factoryId: string }[]; nextCursor: string | null };

  const refusedNamingCursor = async (route: string, token = admin) => {
    const response = await api('GET', route, { token });
    expect(response.status, route).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.details.issues.map((issue: { path: string }) => issue.path)).toEqual(['query.cursor']);
  };

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Cursors'))).token;
    other = (await createAccount(uniqueName('Cursors other'))).token;
    for (const name of ['Line A', 'Line B']) expect((await api('POST', 'v1/factories', { token: admin, body: { name } })).status).toBe(201);
    firstPage = (await api('GET', 'v1/factories?limit=1', { token: admin })).body;
  });

  it('pages a list with the cursors it hands out, each factory once', async () => {
    const seen = [...firstPage.items.map((f) => f.factoryId)];
    let cursor = firstPage.nextCursor;
    while (cursor) {
      const page = await api('GET', `v1/factories?limit=1&cursor=${encodeURIComponent(cursor)}`, { token: admin });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((f: { factoryId: string }) => f.factoryId));
      cursor = page.body.nextCursor;
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('refuses a cursor that was altered, cut short or is too long, with 400 naming `cursor`', async () => {
    const cursor = firstPage.nextCursor!;
    const flipped = `${cursor.slice(0, 3)}${cursor[3] === 'A' ? 'B' : 'A'}${cursor.slice(4)}`;
    for (const bad of [flipped, cursor.slice(0, -5), cursor.slice(0, 10), 'A'.repeat(MAX_CURSOR_LENGTH + 1), Buffer.from('FAC#x').toString('base64url')]) {
      await refusedNamingCursor(`v1/factories?limit=1&cursor=${encodeURIComponent(bad)}`);
    }
  });

  it('refuses a cursor of another account, and of another list of the same account', async () => {
    const cursor = encodeURIComponent(firstPage.nextCursor!);
    await refusedNamingCursor(`v1/factories?limit=1&cursor=${cursor}`, other);
    await refusedNamingCursor(`v1/programmers?limit=1&cursor=${cursor}`);
    await refusedNamingCursor(`v1/audit?limit=1&cursor=${cursor}`);
  });

  it('answers the audit trail with an odd cursor and `since` with 400, not the 500 issue 9 found; its own cursors work', async () => {
    for (const odd of ['=', 'AAAA', '~', 'Pg', 'x.y']) await refusedNamingCursor(`v1/audit?cursor=${encodeURIComponent(odd)}&since=2026-01-01T00:00:00Z`);
    const browse = await api('GET', 'v1/audit?limit=1', { token: admin });
    expect(browse.status).toBe(200);
    expect(browse.body.nextCursor).toEqual(expect.any(String));
    expect((await api('GET', `v1/audit?limit=1&cursor=${encodeURIComponent(browse.body.nextCursor)}`, { token: admin })).status).toBe(200);
    const follow = await api('GET', 'v1/audit?limit=1&since=2026-01-01T00:00:00Z', { token: admin });
    expect(follow.status).toBe(200);
    expect((await api('GET', `v1/audit?limit=1&cursor=${encodeURIComponent(follow.body.followCursor)}`, { token: admin })).status).toBe(200);
    await refusedNamingCursor(`v1/audit?limit=1&cursor=${encodeURIComponent(follow.body.followCursor)}`, other);
  });

  it('documents the cursor as opaque and bounded in the OpenAPI document', async () => {
    const document = (await api('GET', 'v1/openapi.json')).body;
    const parameter = document.paths['/v1/factories'].get.parameters.find((p: { name: string }) => p.name === 'cursor');
    expect(parameter.schema.maxLength).toBe(MAX_CURSOR_LENGTH);
    expect(parameter.schema.description ?? parameter.description).toMatch(/Opaque/);
  });
});
