import { X509Certificate, createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedUnitDataDigest } from '../../cli/simulate/tickets.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';
import { deviceCsr } from '../support/device-keys.js';
import { linesSince, logGroupOf } from '../support/function-logs.js';
import { verifyWithJwks } from '../support/jwks.js';

type Programmer = CredentialsFileType & { programmerId: string };
interface Unit {
  jobId: string;
  authorizationId: string;
  programmer: Programmer;
  serial: string;
  uid: string;
  board: string;
  eth: string[];
  label: string;
  deviceKey: string;
}

const ROWS = 300;

/**
 * Issue 8's acceptance in one story on the deployed stack: two jobs drawing on one serial pool,
 * one MAC block, one data list with a secret column and one certificate authority, with chip
 * UIDs unique in the account and `onFailure: return`, asked by 16 callers at once.
 */
describe('per-unit data, every source at once', () => {
  const startTime = Date.now() - 60_000;
  let admin: string;
  let author: string;
  let viewer: string;
  let factoryId: string;
  let caPem: string;
  const programmers: Programmer[] = [];
  const secrets = new Set<string>();
  const jobIds: string[] = [];
  /** Every authorization response body, as text: the only place a secret may appear. */
  const responseTexts: string[] = [];

  const authorize = async (programmer: Programmer, body: Record<string, unknown>) => {
    const nonce = randomUUID();
    // As a programmer does: a 5xx or 429 (cold starts on a busy machine) is retried with the same nonce.
    for (let attempt = 1; ; attempt += 1) {
      const response = await call('POST', 'v1/device/authorizations', { token: programmer.token, body: { nonce, ...body } });
      if ((response.status < 500 && response.status !== 429) || attempt === 5) return response;
    }
  };
  const unitsOf = (programmer: Programmer, body: any): Unit[] =>
    (body.unitData as { serial: string; fields: Record<string, string | string[]> }[]).map((unit, i) => ({
      jobId: body.jobId,
      authorizationId: body.authorizationId,
      programmer,
      serial: unit.serial,
      uid: body.uids[i],
      board: unit.fields.board as string,
      eth: unit.fields.eth as string[],
      label: unit.fields['cred.label'] as string,
      deviceKey: unit.fields['cred.deviceKey'] as string,
    }));
  const expectDistinct = (values: string[], what: string) => expect(values.length - new Set(values).size, `${what} handed out twice`).toBe(0);
  let uidCounter = 0;
  const nextUids = (count: number) => Array.from({ length: count }, () => `C0FFEE${String((uidCounter += 1)).padStart(6, '0')}`);

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('All sources'))).token;
    const key = async (role: string) => (await call('POST', 'v1/api-keys', { token: admin, body: { name: uniqueName(role), role } })).body.credentials.token as string;
    [author, viewer] = await Promise.all([key('author'), key('viewer')]);
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: uniqueName('All sources line') } })).body.factory.factoryId;
    for (let i = 0; i < 8; i += 1) {
      const response = await call('POST', 'v1/programmers', { token: admin, body: { name: `All sources ${i}`, hardwareSerial: randomUUID(), factoryId } });
      programmers.push({ ...response.body.credentials, programmerId: response.body.programmer.programmerId });
    }
    const ca = await call('POST', 'v1/certificate-authorities', { token: admin, body: { name: 'All sources CA', subject: 'CN=All Sources CA, O=Acme' } });
    expect(ca.status, JSON.stringify(ca.body)).toBe(201);
    caPem = ca.body.certificateAuthority.certificatePem;
    const pool = (await call('POST', 'v1/serial-pools', { token: author, body: { name: 'All sources', format: 'AS{n:06}{check:luhn}' } })).body.serialPool;
    const block = (await call('POST', 'v1/mac-blocks', { token: admin, body: { name: 'All sources eth', first: '0A:5A:00:00:00:00', count: 4096 } })).body.macBlock;
    const list = (await call('POST', 'v1/data-lists', { token: author, body: { name: 'All sources keys', columns: [{ name: 'label' }, { name: 'deviceKey', secret: true }] } })).body.dataList;
    const rows = ['label,deviceKey'];
    for (let i = 0; i < ROWS; i += 1) {
      const secret = `sk-all-${i}-${randomUUID()}`;
      secrets.add(secret);
      rows.push(`row-${i},${secret}`);
    }
    expect((await call('POST', `v1/data-lists/${list.dataListId}/rows`, { token: author, body: { format: 'csv', content: `${rows.join('\n')}\n` } })).status).toBe(200);
    const unitFields = [
      { name: 'board', source: { serialPool: pool.serialPoolId } },
      { name: 'eth', source: { macBlock: block.macBlockId, perUnit: 2 } },
      { name: 'cred', source: { dataList: list.dataListId } },
      { name: 'cert', source: { certificateAuthority: ca.body.certificateAuthority.certificateAuthorityId } },
    ];
    for (let j = 0; j < 2; j += 1) {
      const registered = await call('POST', 'v1/images', {
        token: author,
        body: { name: uniqueName('All sources'), factoryId, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', unitFields, uidPolicy: 'unique_per_account', onFailure: 'return' },
      });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      jobIds.push(registered.body.job.jobId);
    }
  });

  it('16 callers: no value twice, ud verifies, certificates chain, returned values come back exactly once, a raced UID goes to one, every unit traces, no secret leaks', async () => {
    // 16 callers at once, over both jobs, 1 to 3 units each.
    const requests = Array.from({ length: 16 }, (_, i) => ({ programmer: programmers[i % 8]!, jobId: jobIds[i % 2]!, units: (i % 3) + 1 }));
    const responses = await Promise.all(requests.map((r) => authorize(r.programmer, { jobId: r.jobId, units: r.units, uids: nextUids(r.units) })));
    expect(responses.map((r) => r.status).every((status) => status === 201 || status === 200), JSON.stringify(responses.map((r) => r.body))).toBe(true);
    const first: Unit[] = [];
    for (const [i, response] of responses.entries()) {
      responseTexts.push(JSON.stringify(response.body));
      expect((await verifyWithJwks(response.body.ticket)).ud).toBe(expectedUnitDataDigest(response.body.unitData));
      first.push(...unitsOf(requests[i]!.programmer, response.body));
    }
    expect(first).toHaveLength(requests.reduce((sum, r) => sum + r.units, 0));
    expectDistinct(first.map((unit) => unit.board), 'a serial pool value');
    expectDistinct(first.flatMap((unit) => unit.eth), 'a MAC address');
    expectDistinct(first.map((unit) => unit.label), 'a data-list row');
    expect(first.every((unit) => secrets.has(unit.deviceKey))).toBe(true);

    // A certificate for every unit from its own CSR, chained to the CA, binding serial and UID.
    const ca = new X509Certificate(caPem);
    for (let i = 0; i < first.length; i += 8) {
      await Promise.all(
        first.slice(i, i + 8).map(async (unit) => {
          const issued = await call('POST', 'v1/device/certificates', { token: unit.programmer.token, body: { authorizationId: unit.authorizationId, serial: unit.serial, csr: (await deviceCsr()).csrPem } });
          expect(issued.status, JSON.stringify(issued.body)).toBe(201);
          const leaf = new X509Certificate(issued.body.certificatePem);
          expect(leaf.verify(ca.publicKey)).toBe(true);
          expect(leaf.subject).toContain(`serialNumber=${unit.serial}`);
          expect(leaf.subject).toContain(`UID=${unit.uid}`);
        }),
      );
    }

    // The first unit of every authorization fails: its values go back to their sources.
    const failed = new Set<string>();
    for (const [i, response] of responses.entries()) {
      const mine = first.filter((unit) => unit.authorizationId === response.body.authorizationId);
      failed.add(mine[0]!.board);
      const results = mine.map((unit, u) => ({ serial: unit.serial, uid: unit.uid, status: u === 0 ? 'failure' : 'success' }));
      const reported = await call('POST', 'v1/device/results', { token: requests[i]!.programmer.token, body: { authorizationId: response.body.authorizationId, results } });
      expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    }
    const returned = first.filter((unit) => failed.has(unit.board));
    expect(returned).toHaveLength(16);

    // Asked again for as many units and 4 more: the returned values come back, each exactly once.
    const again: Unit[] = [];
    for (let i = 0; i < 5; i += 1) {
      const programmer = programmers[i]!;
      const response = await authorize(programmer, { jobId: jobIds[i % 2]!, units: 4, uids: nextUids(4) });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      responseTexts.push(JSON.stringify(response.body));
      expect((await verifyWithJwks(response.body.ticket)).ud).toBe(expectedUnitDataDigest(response.body.unitData));
      again.push(...unitsOf(programmer, response.body));
    }
    const kept = first.filter((unit) => !failed.has(unit.board));
    const live = [...kept, ...again];
    for (const [what, valuesOf] of [
      ['a serial pool value', (unit: Unit) => [unit.board]],
      ['a MAC address', (unit: Unit) => unit.eth],
      ['a data-list row', (unit: Unit) => [unit.label]],
    ] as const) {
      expectDistinct(live.flatMap(valuesOf), what);
      const reissued = new Set(again.flatMap(valuesOf));
      expect(returned.flatMap(valuesOf).filter((value) => !reissued.has(value)), `${what} returned but not handed out again`).toEqual([]);
    }
    for (const [i, programmer] of programmers.slice(0, 5).entries()) {
      const mine = again.filter((unit) => unit.programmer === programmer);
      const results = mine.map((unit) => ({ serial: unit.serial, uid: unit.uid, status: 'success' }));
      expect((await call('POST', 'v1/device/results', { token: programmer.token, body: { authorizationId: mine[0]!.authorizationId, results } })).status, `report ${i}`).toBe(200);
    }

    // One chip presented by 8 programmers at once: exactly one gets it.
    const [racedUid] = nextUids(1);
    const raced = await Promise.all(programmers.map((programmer) => call('POST', 'v1/device/authorizations', { token: programmer.token, body: { nonce: randomUUID(), jobId: jobIds[0], units: 1, uids: [racedUid] } })));
    expect(raced.filter((r) => r.status === 201)).toHaveLength(1);
    expect(raced.filter((r) => r.status !== 201).every((r) => r.status === 409 && ['uid_in_progress', 'uid_already_programmed'].includes(r.body.error.code))).toBe(true);
    responseTexts.push(...raced.filter((r) => r.status === 201).map((r) => JSON.stringify(r.body)));

    // Every programmed unit answers by its pool value, its MAC and its chip, and is in its job's manifest.
    const traced: string[] = [];
    const trace = async (unit: Unit) => {
      for (const query of [`serial=${encodeURIComponent(unit.board)}`, `mac=${unit.eth[1]}`, `uid=${unit.uid}`]) {
        const response = await call('GET', `v1/units?${query}`, { token: viewer });
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        const story = (response.body.items as { authorizationId: string }[]).find((item) => item.authorizationId === unit.authorizationId);
        expect(story, `${query} of ${unit.serial}`).toMatchObject({ jobId: unit.jobId, serial: unit.serial, programmerId: unit.programmer.programmerId, result: { status: 'success' } });
        traced.push(JSON.stringify(response.body));
      }
    };
    for (let i = 0; i < live.length; i += 8) await Promise.all(live.slice(i, i + 8).map(trace));
    const manifests: string[] = [];
    for (const jobId of jobIds) {
      const manifest = await call('GET', `v1/jobs/${jobId}/manifest`, { token: author });
      expect(manifest.status).toBe(200);
      const lines = (manifest.body.manifest as string).trim().split('\n').map((line) => JSON.parse(line) as { serial: string; status: string; withheld?: string[] });
      const reported = [...first, ...again].filter((unit) => unit.jobId === jobId);
      expect(lines.map((line) => line.serial).sort()).toEqual(reported.map((unit) => unit.serial).sort());
      expect(lines.every((line) => line.withheld?.includes('cred.deviceKey'))).toBe(true);
      manifests.push(JSON.stringify(manifest.body));
    }

    // A secret appears in the authorization responses that handed its row out, and nowhere else.
    await feedSettled();
    const reads = [
      JSON.stringify((await call('GET', 'v1/data-lists', { token: viewer })).body),
      JSON.stringify((await call('GET', 'v1/audit', { token: admin })).body),
      ...(await Promise.all(jobIds.map(async (jobId) => JSON.stringify((await call('GET', `v1/jobs/${jobId}/results`, { token: viewer })).body)))),
      ...traced,
      ...manifests,
    ];
    const logs = (await Promise.all(['DeviceApi', 'DeviceAuthorizations', 'ManagementApi', 'DeviceCertificates'].map(async (id) => (await linesSince(await logGroupOf(id), startTime)).raw.join('\n')))).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const unit of [...first, ...again]) {
      const handedOut = responseTexts.filter((text) => text.includes(unit.deviceKey)).length;
      expect(handedOut, unit.label).toBe(returned.some((r) => r.deviceKey === unit.deviceKey) ? 2 : 1);
    }
    for (const secret of secrets) {
      for (const text of reads) expect(text.includes(secret), secret).toBe(false);
      expect(logs.includes(secret), secret).toBe(false);
    }
  }, 600_000);
});
