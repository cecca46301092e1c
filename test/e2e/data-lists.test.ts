import { createHash, randomUUID } from 'node:crypto';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../cli/simulate/simulator.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';
import { linesSince, logGroupOf } from '../support/function-logs.js';
import { verifyWithJwks } from '../support/jwks.js';
import { expectedUnitDataDigest } from '../../cli/simulate/tickets.js';

interface UnitData {
  serial: string;
  fields: Record<string, string | string[]>;
}

/** api.md "Per-unit data" on the deployed stack: data lists (secret columns), units lookup and the signed job manifest. */
describe('data lists and traceability', () => {
  const startTime = Date.now() - 60_000;
  let admin: string;
  let author: string;
  let viewer: string;
  let factoryId: string;
  const programmers: (CredentialsFileType & { programmerId: string })[] = [];
  /** Every secret value this file uploads: none may show up anywhere but in one authorization response. */
  const secrets = new Set<string>();

  const register = async (extra: Record<string, unknown>) => {
    const response = await call('POST', 'v1/images', {
      token: author,
      body: { name: uniqueName('Lists'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', ...extra },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.job as { jobId: string };
  };
  /** As a programmer does: a 5xx or 429 is retried with the same nonce, which never hands out more. */
  const authorize = async (token: string, jobId: string, units: number, nonce: string = randomUUID()) => {
    for (let attempt = 1; ; attempt += 1) {
      const response = await call('POST', 'v1/device/authorizations', { token, body: { jobId, units, nonce } });
      if ((response.status < 500 && response.status !== 429) || attempt === 5) return response;
    }
  };
  const rowsCsv = (count: number, tag: string) => {
    const lines = ['label,deviceKey'];
    for (let i = 0; i < count; i += 1) {
      const secret = `sk-${tag}-${i}-${randomUUID()}`;
      secrets.add(secret);
      lines.push(`"${tag} ${i}, board",${secret}`);
    }
    return `${lines.join('\r\n')}\r\n`;
  };
  const newList = async (name: string) => {
    const created = await call('POST', 'v1/data-lists', { token: author, body: { name, columns: [{ name: 'label' }, { name: 'deviceKey', secret: true, maxLength: 100 }] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.dataList as { dataListId: string };
  };
  const readyList = async (rows: number, tag: string) => {
    const list = await newList(`List ${tag}`);
    const filled = await call('POST', `v1/data-lists/${list.dataListId}/rows`, { token: author, body: { format: 'csv', content: rowsCsv(rows, tag) } });
    expect(filled.status, JSON.stringify(filled.body)).toBe(200);
    return list;
  };

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Data lists'))).token;
    const key = async (role: string) => (await call('POST', 'v1/api-keys', { token: admin, body: { name: uniqueName(role), role } })).body.credentials.token as string;
    [author, viewer] = await Promise.all([key('author'), key('viewer')]);
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: uniqueName('Lists line') } })).body.factory.factoryId;
    for (let i = 0; i < 4; i += 1) {
      const response = await call('POST', 'v1/programmers', { token: admin, body: { name: `Lists ${i}`, hardwareSerial: randomUUID(), factoryId } });
      programmers.push({ ...response.body.credentials, programmerId: response.body.programmer.programmerId });
    }
  });

  it('creates lists for authors, fills them inline whole or not at all, naming the bad line and column', async () => {
    const bad = await call('POST', 'v1/data-lists', { token: author, body: { name: 'Bad', columns: [{ name: 'a' }, { name: 'a' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('columns');
    expect((await call('POST', 'v1/data-lists', { token: viewer, body: { name: 'No', columns: [{ name: 'a' }] } })).status).toBe(403);
    const list = await newList('Inline');
    expect(list).toMatchObject({ status: 'empty', total: 0, issued: 0, remaining: 0, returned: 0 });
    const refused = await call('POST', `v1/data-lists/${list.dataListId}/rows`, { token: author, body: { format: 'csv', content: 'label,deviceKey\nok,k1\nok,\n' } });
    // Judged against this list's columns: a conflict with its state, the line and column named.
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('rows_rejected');
    expect(refused.body.error.details.issues[0]).toEqual({ path: 'content', message: 'line 3, column deviceKey: must not be empty' });
    const unknownColumn = await call('POST', `v1/data-lists/${list.dataListId}/rows`, { token: author, body: { format: 'csv', content: '00' } });
    expect(unknownColumn.status).toBe(409);
    expect(unknownColumn.body.error).toMatchObject({ code: 'rows_rejected', details: { issues: [{ path: 'content', message: 'line 1: the header names "00", which is not a column of this list' }] } });
    expect((await call('GET', `v1/data-lists/${list.dataListId}`, { token: viewer })).body.dataList).toMatchObject({ status: 'empty', total: 0 });
    const filled = await call('POST', `v1/data-lists/${list.dataListId}/rows`, { token: author, body: { format: 'jsonl', content: '{"label":"a","deviceKey":"k-a"}\n{"label":"b","deviceKey":"k-b"}\n' } });
    expect(filled.status).toBe(200);
    expect(filled.body.dataList).toMatchObject({ status: 'ready', total: 2, issued: 0, remaining: 2 });
    const again = await call('POST', `v1/data-lists/${list.dataListId}/rows`, { token: author, body: { format: 'jsonl', content: '{"label":"c","deviceKey":"k-c"}' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_transition');
    // Nor through a file: no upload URL for a list that has its rows.
    const noUpload = await call('POST', `v1/data-lists/${list.dataListId}/upload-url`, { token: author, body: { format: 'csv', sha256: 'a'.repeat(64), sizeBytes: 9 } });
    expect(noUpload.status).toBe(409);
    expect(noUpload.body.error.code).toBe('invalid_transition');
    secrets.add('k-a').add('k-b');
  });

  it('takes a large file through a presigned upload with its SHA-256, and rejects a bad one naming line and column', async () => {
    const upload = async (listId: string, text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const created = await call('POST', `v1/data-lists/${listId}/upload-url`, { token: author, body: { format: 'csv', sha256, sizeBytes: bytes.length } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.upload.headers['x-amz-checksum-sha256']).toBe(Buffer.from(sha256, 'hex').toString('base64'));
      const put = await fetch(created.body.upload.url, { method: 'PUT', headers: created.body.upload.headers, body: bytes });
      expect(put.status).toBe(200);
      // The upload processor runs on the object's creation: poll as a client does.
      for (let attempt = 0; attempt < 60; attempt += 1) {
        const { body } = await call('GET', `v1/data-lists/${listId}`, { token: viewer });
        if (body.dataList.status !== 'pending_upload') return body.dataList;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      throw new Error('the upload was not processed');
    };
    const good = await newList('Uploaded');
    expect(await upload(good.dataListId, rowsCsv(250, 'up'))).toMatchObject({ status: 'ready', total: 250, remaining: 250, rejection: null });
    const bad = await newList('Uploaded badly');
    const text = rowsCsv(5, 'bad').replace(/\r\n([^\r\n]*)\r\n$/, '\r\n$1,extra\r\n');
    expect(await upload(bad.dataListId, text)).toMatchObject({ status: 'rejected', total: 0, rejection: { line: 6, message: 'has 3 values, the header 2' } });
  });

  it('two jobs on one list, 16 concurrent programmers: no row twice, each secret in exactly one authorization response, nowhere else', async () => {
    // Room for burned rows: an attempt whose answer is lost (a cold start outlasting the emulator's
    // timeout) has taken its rows, and its retry takes new ones. Burned, never handed out twice.
    const list = await readyList(1200, 'shared');
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'Traced', format: 'TR{n:06}{check:luhn}' } })).body.serialPool;
    const block = (await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'Traced eth', first: '0E:00:00:00:00:00', count: 4096 } })).body.macBlock;
    const fields = [
      { name: 'cred', source: { dataList: list.dataListId } },
      { name: 'board', source: { serialPool: pool.serialPoolId } },
      { name: 'eth', source: { macBlock: block.macBlockId, perUnit: 2 } },
    ];
    const jobs = [await register({ unitFields: fields }), await register({ unitFields: fields })];
    const requests = Array.from({ length: 16 }, (_, i) => ({ programmer: programmers[i % 4]!, jobId: jobs[i % 2]!.jobId, units: (i % 4) + 3, nonce: randomUUID() }));
    const responses = await Promise.all(requests.map((r) => authorize(r.programmer.token, r.jobId, r.units, r.nonce)));
    expect(responses.map((r) => r.status).every((status) => status === 201 || status === 200), JSON.stringify(responses.map((r) => r.body))).toBe(true);
    const units: (UnitData & { jobId: string })[] = [];
    for (const { body } of responses) {
      const claims = await verifyWithJwks(body.ticket);
      expect(claims.ud).toBe(expectedUnitDataDigest(body.unitData));
      units.push(...(body.unitData as UnitData[]).map((unit) => ({ ...unit, jobId: body.jobId })));
    }
    const keysHanded = units.map((unit) => unit.fields['cred.deviceKey'] as string);
    expect(new Set(keysHanded).size).toBe(keysHanded.length);
    expect(keysHanded.every((key) => secrets.has(key))).toBe(true);
    expect(units.every((unit) => typeof unit.fields['cred.label'] === 'string' && unit.fields['cred.label'] !== '')).toBe(true);
    // Each secret in exactly one authorization response.
    const responseTexts = responses.map((r) => JSON.stringify(r.body));
    for (const key of keysHanded) expect(responseTexts.filter((text) => text.includes(key))).toHaveLength(1);
    // A retried nonce gets the same rows, byte for byte.
    const replay = await authorize(requests[5]!.programmer.token, requests[5]!.jobId, requests[5]!.units, requests[5]!.nonce);
    expect(replay.status).toBe(200);
    expect(JSON.stringify(replay.body)).toBe(responseTexts[5]);
    const listed = (await call('GET', `v1/data-lists/${list.dataListId}`, { token: viewer })).body.dataList;
    expect(listed.issued).toBeGreaterThanOrEqual(units.length);
    expect(listed.remaining).toBe(1200 - listed.issued);

    // Report every unit, then trace each one back by its serial pool value and by its MAC.
    for (const [i, { body }] of responses.entries()) {
      const report = { authorizationId: body.authorizationId, results: body.serials.map((serial: string) => ({ serial, status: 'success' })) };
      expect((await call('POST', 'v1/device/results', { token: requests[i]!.programmer.token, body: report })).status).toBe(200);
    }
    const traced: string[] = [];
    const trace = async (unit: (typeof units)[number]) => {
      const bySerial = await call('GET', `v1/units?serial=${encodeURIComponent(unit.fields.board as string)}`, { token: viewer });
      expect(bySerial.status, JSON.stringify(bySerial.body)).toBe(200);
      expect(bySerial.body.items).toHaveLength(1);
      expect(bySerial.body.items[0]).toMatchObject({ jobId: unit.jobId, serial: unit.serial, match: { field: 'board', value: unit.fields.board }, result: { status: 'success' } });
      expect(bySerial.body.items[0].fields).toEqual(['cred.label', 'cred.deviceKey', 'board', 'eth']);
      const byMac = await call('GET', `v1/units?mac=${(unit.fields.eth as string[])[1]}`, { token: viewer });
      expect(byMac.body.items).toHaveLength(1);
      expect(byMac.body.items[0]).toMatchObject({ jobId: unit.jobId, serial: unit.serial, authorizationId: bySerial.body.items[0].authorizationId });
      traced.push(JSON.stringify(bySerial.body), JSON.stringify(byMac.body));
    };
    for (let i = 0; i < units.length; i += 8) await Promise.all(units.slice(i, i + 8).map(trace));
    expect((await call('GET', 'v1/units?serial=TR999999', { token: viewer })).body.items).toEqual([]);
    expect((await call('GET', 'v1/units?serial=a&mac=00:00:00:00:00:00', { token: viewer })).status).toBe(400);

    // The manifest of each job: every unit, signed by the root key, verifiable with the JWKS alone.
    const jwks = createLocalJWKSet((await call('GET', 'v1/signing-keys')).body as JSONWebKeySet);
    const manifests: string[] = [];
    for (const job of jobs) {
      const manifest = await call('GET', `v1/jobs/${job.jobId}/manifest`, { token: author });
      expect(manifest.status, JSON.stringify(manifest.body)).toBe(200);
      const lines = (manifest.body.manifest as string).trim().split('\n').map((line) => JSON.parse(line));
      const mine = units.filter((unit) => unit.jobId === job.jobId);
      expect(lines.map((line) => line.serial).sort()).toEqual(mine.map((unit) => unit.serial).sort());
      for (const line of lines) {
        const unit = mine.find((candidate) => candidate.serial === line.serial)!;
        expect(line).toMatchObject({ status: 'success', fields: { board: unit.fields.board, eth: unit.fields.eth, 'cred.label': unit.fields['cred.label'] }, withheld: ['cred.deviceKey'] });
      }
      const { payload, protectedHeader } = await compactVerify(manifest.body.signature, jwks);
      expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'flashline-manifest+jwt' });
      const claims = JSON.parse(new TextDecoder().decode(payload));
      expect(claims).toMatchObject({ iss: 'flashline', job: job.jobId, units: mine.length, sha256: createHash('sha256').update(manifest.body.manifest, 'utf8').digest('hex') });
      expect(manifest.body.sha256).toBe(claims.sha256);
      expect((await call('GET', `v1/jobs/${job.jobId}/manifest`, { token: viewer })).status).toBe(403);
      manifests.push(JSON.stringify(manifest.body));
    }

    // No secret in any other read: lists, audit, units, manifests, and no function's log stream.
    await feedSettled();
    const reads = [
      JSON.stringify((await call('GET', 'v1/data-lists', { token: viewer })).body),
      JSON.stringify((await call('GET', `v1/data-lists/${list.dataListId}`, { token: viewer })).body),
      JSON.stringify((await call('GET', 'v1/audit', { token: admin })).body),
      ...(await Promise.all(jobs.map(async (job) => JSON.stringify((await call('GET', `v1/jobs/${job.jobId}/results`, { token: viewer })).body)))),
      ...traced,
      ...manifests,
    ];
    const logTexts = (await Promise.all(['DeviceApi', 'DeviceAuthorizations', 'ManagementApi', 'ImageVerifier'].map(async (id) => (await linesSince(await logGroupOf(id), startTime)).raw.join('\n')))).join('\n');
    expect(logTexts.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      for (const text of reads) expect(text.includes(secret), secret).toBe(false);
      expect(logTexts.includes(secret), secret).toBe(false);
    }
  }, 600_000);

  it('onFailure return hands each returned row out again exactly once', async () => {
    const list = await readyList(12, 'returned');
    const job = await register({ unitFields: [{ name: 'cred', source: { dataList: list.dataListId } }], onFailure: 'return' });
    const [holder] = programmers as [CredentialsFileType & { programmerId: string }];
    const first = (await authorize(holder.token, job.jobId, 4)).body;
    const failedKeys = [first.unitData[0].fields['cred.deviceKey'], first.unitData[2].fields['cred.deviceKey']];
    const report = { authorizationId: first.authorizationId, results: first.serials.map((serial: string, i: number) => ({ serial, status: i % 2 === 0 ? 'failure' : 'success' })) };
    expect((await call('POST', 'v1/device/results', { token: holder.token, body: report })).status).toBe(200);
    expect((await call('POST', 'v1/device/results', { token: holder.token, body: report })).body).toMatchObject({ recorded: 0 });
    expect((await call('GET', `v1/data-lists/${list.dataListId}`, { token: viewer })).body.dataList).toMatchObject({ issued: 4, returned: 2, remaining: 10 });
    const rest = [(await authorize(holder.token, job.jobId, 5)).body, (await authorize(holder.token, job.jobId, 5)).body];
    const handed = rest.flatMap((body) => body.unitData.map((unit: UnitData) => unit.fields['cred.deviceKey']));
    for (const key of failedKeys) expect(handed.filter((value: string) => value === key)).toHaveLength(1);
    expect(new Set(handed).size).toBe(10);
    const used = await authorize(holder.token, job.jobId, 1);
    expect(used.status).toBe(409);
    expect(used.body.error).toMatchObject({ code: 'data_list_exhausted', details: { dataListId: list.dataListId, remaining: 0 } });
    expect((await call('GET', `v1/data-lists/${list.dataListId}`, { token: viewer })).body.dataList).toMatchObject({ issued: 12, returned: 0, remaining: 0 });
  });

  it('the simulator programs a job with a data-list field, checking every ticket\'s ud', async () => {
    const list = await readyList(20, 'simulated');
    const job = await register({ unitFields: [{ name: 'cred', source: { dataList: list.dataListId } }], restrictions: { maxCount: 20 } });
    const summary = await simulate({ programmers: programmers.slice(0, 2), jobId: job.jobId, batch: 4, concurrency: 2, programMs: 0, failureRate: 0, seed: 'lists', sendLogs: false });
    expect(summary).toMatchObject({ ok: true, units: 20 });
    expect(summary.ticketsVerified).toBe(summary.authorizations);
    expect((await call('GET', `v1/data-lists/${list.dataListId}`, { token: viewer })).body.dataList).toMatchObject({ issued: 20, remaining: 0 });
  });

  it('keeps lists to their account: another account\'s list is 404 to read, fill, upload to or name in a job; an empty list cannot be named', async () => {
    const stranger = (await createAccount(uniqueName('List stranger'))).token;
    const theirs = (await call('POST', 'v1/data-lists', { token: stranger, body: { name: 'Theirs', columns: [{ name: 'a' }] } })).body.dataList;
    expect((await call('GET', `v1/data-lists/${theirs.dataListId}`, { token: admin })).status).toBe(404);
    expect((await call('POST', `v1/data-lists/${theirs.dataListId}/rows`, { token: author, body: { format: 'jsonl', content: '{"a":"x"}' } })).status).toBe(404);
    expect((await call('POST', `v1/data-lists/${theirs.dataListId}/upload-url`, { token: author, body: { format: 'jsonl', sha256: 'a'.repeat(64), sizeBytes: 9 } })).status).toBe(404);
    expect((await call('GET', 'v1/data-lists', { token: admin })).body.items.some((item: { dataListId: string }) => item.dataListId === theirs.dataListId)).toBe(false);
    const foreign = await call('POST', 'v1/images', {
      token: author,
      body: { name: 'Foreign', factoryId, contentSha256: 'e'.repeat(64), sizeBytes: 1, delivery: 'direct', unitFields: [{ name: 'x', source: { dataList: theirs.dataListId } }] },
    });
    expect(foreign.status).toBe(404);
    const empty = await newList('Empty');
    const notReady = await call('POST', 'v1/images', {
      token: author,
      body: { name: 'Early', factoryId, contentSha256: 'f'.repeat(64), sizeBytes: 1, delivery: 'direct', unitFields: [{ name: 'x', source: { dataList: empty.dataListId } }] },
    });
    expect(notReady.status).toBe(409);
    expect(notReady.body.error.code).toBe('data_list_not_ready');
  });
});
