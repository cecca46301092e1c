import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { simulate } from '../../cli/simulate/simulator.js';
import { decodeJwsPayload } from '../../shared/domain/jws.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { deviceCsr } from '../support/device-keys.js';

type Programmer = CredentialsFileType & { programmerId: string };

function opensslVerify(caPem: string, leafPem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'flashline-e2e-certs-'));
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, 'leaf.pem'), leafPem);
  return execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** api.md "Per-unit data" on the deployed stack: certificate authorities in KMS, device certificates, chip UIDs. */
describe('device certificates and chip UIDs', () => {
  let admin: string;
  let author: string;
  let viewer: string;
  let factoryId: string;
  let caId: string;
  let caPem: string;
  const programmers: Programmer[] = [];
  let stranger: { admin: string; programmer: Programmer };

  const addProgrammer = async (token: string, factory: string): Promise<Programmer> => {
    const response = await call('POST', 'v1/programmers', { token, body: { name: uniqueName('Cert line'), hardwareSerial: randomUUID(), factoryId: factory } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return { ...response.body.credentials, programmerId: response.body.programmer.programmerId };
  };
  const register = async (extra: Record<string, unknown>, token = author, factory = factoryId) => {
    const response = await call('POST', 'v1/images', {
      token,
      body: { name: uniqueName('Certs'), factoryId: factory, contentSha256: createHash('sha256').update(randomUUID()).digest('hex'), sizeBytes: 100, delivery: 'direct', ...extra },
    });
    return response;
  };
  const authorize = (token: string, body: Record<string, unknown>) => call('POST', 'v1/device/authorizations', { token, body: { nonce: randomUUID(), ...body } });
  const issue = (token: string, body: Record<string, unknown>) => call('POST', 'v1/device/certificates', { token, body });

  beforeAll(async () => {
    admin = (await createAccount(uniqueName('Certs'))).token;
    const key = async (role: string) => (await call('POST', 'v1/api-keys', { token: admin, body: { name: uniqueName(role), role } })).body.credentials.token as string;
    [author, viewer] = await Promise.all([key('author'), key('viewer')]);
    factoryId = (await call('POST', 'v1/factories', { token: admin, body: { name: uniqueName('Cert line') } })).body.factory.factoryId;
    for (let i = 0; i < 8; i += 1) programmers.push(await addProgrammer(admin, factoryId));
    const strangerAdmin = (await createAccount(uniqueName('Other certs'))).token;
    const strangerFactory = (await call('POST', 'v1/factories', { token: strangerAdmin, body: { name: uniqueName('Other line') } })).body.factory.factoryId;
    stranger = { admin: strangerAdmin, programmer: await addProgrammer(strangerAdmin, strangerFactory) };
  });

  it('creates a CA with a KMS key for admins only, shows it to viewers, names a bad subject, and hides it from other accounts', async () => {
    expect((await call('POST', 'v1/certificate-authorities', { token: author, body: { name: 'No', subject: 'CN=No' } })).status).toBe(403);
    const bad = await call('POST', 'v1/certificate-authorities', { token: admin, body: { name: 'Bad', subject: 'O=Acme' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0]).toMatchObject({ path: 'subject' });
    const created = await call('POST', 'v1/certificate-authorities', { token: admin, body: { name: 'Device CA', subject: 'CN=Acme Device CA, O=Acme' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    caId = created.body.certificateAuthority.certificateAuthorityId;
    caPem = created.body.certificateAuthority.certificatePem;
    const ca = new X509Certificate(caPem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=Acme Device CA\nO=Acme');
    // Self-signed through KMS: the signature verifies with the key it certifies.
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect((await call('GET', `v1/certificate-authorities/${caId}`, { token: viewer })).body.certificateAuthority).toEqual(created.body.certificateAuthority);
    expect((await call('GET', 'v1/certificate-authorities', { token: viewer })).body.items.map((item: { certificateAuthorityId: string }) => item.certificateAuthorityId)).toContain(caId);
    expect((await call('GET', `v1/certificate-authorities/${caId}`, { token: stranger.admin })).status).toBe(404);
    // A job of another account cannot name this CA: it does not exist there.
    const strangerFactory = (await call('POST', 'v1/factories', { token: stranger.admin, body: { name: uniqueName('Other line') } })).body.factory.factoryId;
    const foreign = await register({ unitFields: [{ name: 'cert', source: { certificateAuthority: caId } }] }, stranger.admin, strangerFactory);
    expect(foreign.status).toBe(404);
  });

  it("issues each unit's certificate from its CSR: chained to the CA, binding serial and UID, stored and given back on retry", async () => {
    const registered = await register({ unitFields: [{ name: 'cert', source: { certificateAuthority: caId } }], uidPolicy: 'unique_per_job' });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const job = registered.body.job;
    expect(job).toMatchObject({ uidPolicy: 'unique_per_job', unitFields: [{ name: 'cert', source: { certificateAuthority: caId } }] });
    const [me, other] = programmers as [Programmer, Programmer];
    const missing = await authorize(me.token, { jobId: job.jobId, units: 2 });
    // The job's uidPolicy decides what the request needs: a conflict with its state, 409.
    expect(missing.status).toBe(409);
    expect(missing.body.error).toMatchObject({ code: 'invalid_uids', details: { issues: [{ path: 'uids' }] } });
    const granted = await authorize(me.token, { jobId: job.jobId, units: 2, uids: ['04a1b2c3d4e5f6', '04A1B2C3D4E5F7'] });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    const { authorizationId, serials, uids } = granted.body;
    expect(uids).toEqual(['04A1B2C3D4E5F6', '04A1B2C3D4E5F7']);
    expect(decodeJwsPayload(granted.body.ticket)).toMatchObject({ serials, uids });
    expect(granted.body.unitData.map((unit: { fields: { cert: string } }) => unit.fields.cert)).toEqual([caId, caId]);

    const device = await deviceCsr();
    const first = await issue(me.token, { authorizationId, serial: serials[1], csr: device.csrPem });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const leaf = new X509Certificate(first.body.certificatePem);
    const chainCa = new X509Certificate(first.body.chainPem);
    expect(chainCa.fingerprint256).toBe(new X509Certificate(caPem).fingerprint256);
    expect(leaf.verify(chainCa.publicKey)).toBe(true);
    expect(leaf.checkIssued(chainCa)).toBe(true);
    expect(opensslVerify(caPem, first.body.certificatePem)).toContain('OK');
    expect(leaf.subject).toBe(`CN=${serials[1]}\nserialNumber=${serials[1]}\nUID=04A1B2C3D4E5F7`);
    expect(leaf.subjectAltName).toContain(`URI:urn:flashline:uid:04A1B2C3D4E5F7`);
    expect(Buffer.from(leaf.publicKey.export({ format: 'der', type: 'spki' })).equals(Buffer.from(device.publicKeySpki))).toBe(true);

    const retry = await issue(me.token, { authorizationId, serial: serials[1], csr: device.csrPem });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    const otherKey = await issue(me.token, { authorizationId, serial: serials[1], csr: (await deviceCsr()).csrPem });
    expect(otherKey.status).toBe(409);
    expect(otherKey.body.error.code).toBe('certificate_already_issued');

    const badCsr = await issue(me.token, { authorizationId, serial: serials[0], csr: 'not a csr' });
    expect(badCsr.status).toBe(400);
    expect(badCsr.body.error.details.issues[0]).toMatchObject({ path: 'csr' });
    const notGranted = await issue(me.token, { authorizationId, serial: 'SN-99999999', csr: device.csrPem });
    expect(notGranted.status).toBe(409);
    expect(notGranted.body.error).toMatchObject({ code: 'serial_not_in_authorization', details: { issues: [{ path: 'serial' }] } });
    // Another programmer of the account, and a programmer of another account: not theirs, 404.
    expect((await issue(other.token, { authorizationId, serial: serials[0], csr: device.csrPem })).status).toBe(404);
    expect((await issue(stranger.programmer.token, { authorizationId, serial: serials[0], csr: device.csrPem })).status).toBe(404);
  });

  it('after a release, issues no certificate for a unit that went back to the job, and still gives a reported unit its own', async () => {
    const job = (await register({ unitFields: [{ name: 'cert', source: { certificateAuthority: caId } }] })).body.job;
    const me = programmers[0]!;
    const granted = await authorize(me.token, { jobId: job.jobId, units: 2 });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    const { authorizationId, serials } = granted.body;
    const device = await deviceCsr();
    expect((await issue(me.token, { authorizationId, serial: serials[0], csr: device.csrPem })).status).toBe(201);
    const reported = await call('POST', 'v1/device/results', { token: me.token, body: { authorizationId, results: [{ serial: serials[0], status: 'success' }] } });
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    expect((await call('POST', `v1/device/authorizations/${authorizationId}/release`, { token: me.token })).body).toMatchObject({ returned: 1 });

    const returned = await issue(me.token, { authorizationId, serial: serials[1], csr: (await deviceCsr()).csrPem });
    expect(returned.status).toBe(409);
    expect(returned.body.error).toMatchObject({ code: 'authorization_released', details: { authorizationId, serials: [serials[1]] } });
    // The unit that was programmed keeps its certificate: a retry gets it back.
    expect((await issue(me.token, { authorizationId, serial: serials[0], csr: device.csrPem })).status).toBe(200);
  });

  it('refuses certificates for a job without a certificate field', async () => {
    const job = (await register({})).body.job;
    const granted = await authorize(programmers[0]!.token, { jobId: job.jobId, units: 1 });
    expect(granted.status).toBe(201);
    const response = await issue(programmers[0]!.token, { authorizationId: granted.body.authorizationId, serial: granted.body.serials[0], csr: (await deviceCsr()).csrPem });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('no_certificate_field');
  });

  it('grants a chip UID to exactly one of 8 programmers presenting it at once', async () => {
    const job = (await register({ uidPolicy: 'unique_per_account' })).body.job;
    const uid = `E0${randomUUID().replace(/-/g, '').slice(0, 14)}`.toUpperCase();
    const responses = await Promise.all(programmers.map((programmer) => authorize(programmer.token, { jobId: job.jobId, units: 1, uids: [uid] })));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201), JSON.stringify(responses.map((r) => r.body))).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 201)) {
      expect(response.status).toBe(409);
      expect(response.body.error).toMatchObject({ code: 'uid_in_progress', details: { uid } });
    }
    // The losers reserved nothing.
    expect((await call('GET', `v1/jobs/${job.jobId}`, { token: viewer })).body.job.counters.authorized).toBe(1);
  });

  it('refuses a programmed chip (uid_already_programmed), frees a failed or released one, and checks the UID of each result', async () => {
    const job = (await register({ uidPolicy: 'unique_per_job' })).body.job;
    const [me, other] = programmers as [Programmer, Programmer];
    const granted = await authorize(me.token, { jobId: job.jobId, units: 3, uids: ['AA01', 'AA02', 'AA03'] });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    const [s1, s2] = granted.body.serials as string[];
    const wrong = await call('POST', 'v1/device/results', { token: me.token, body: { authorizationId: granted.body.authorizationId, results: [{ serial: s1, status: 'success', uid: 'AA02' }] } });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error).toMatchObject({ code: 'uid_mismatch', details: { issues: [{ path: 'results[0].uid' }] } });
    const reported = await call('POST', 'v1/device/results', {
      token: me.token,
      body: { authorizationId: granted.body.authorizationId, results: [{ serial: s1, status: 'success', uid: 'aa01' }, { serial: s2, status: 'failure', uid: 'AA02' }] },
    });
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    const again = await authorize(other.token, { jobId: job.jobId, units: 1, uids: ['AA01'] });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'uid_already_programmed', details: { uid: 'AA01', serial: s1 } });
    // AA03 is still held by the live authorization; AA02 failed and is free again.
    expect((await authorize(other.token, { jobId: job.jobId, units: 1, uids: ['AA03'] })).body.error?.code).toBe('uid_in_progress');
    expect((await authorize(other.token, { jobId: job.jobId, units: 1, uids: ['AA02'] })).status).toBe(201);
    // Releasing the authorization frees its unprogrammed chip.
    expect((await call('POST', `v1/device/authorizations/${granted.body.authorizationId}/release`, { token: me.token })).status).toBe(200);
    expect((await authorize(other.token, { jobId: job.jobId, units: 1, uids: ['AA03'] })).status).toBe(201);
    // Per job: another job may program the same chip.
    const elsewhere = (await register({ uidPolicy: 'unique_per_job' })).body.job;
    expect((await authorize(other.token, { jobId: elsewhere.jobId, units: 1, uids: ['AA01'] })).status).toBe(201);
    // Per account: a chip with a successful unit anywhere in the account is refused, whichever job programmed it.
    const accountWide = (await register({ uidPolicy: 'unique_per_account' })).body.job;
    const refused = await authorize(other.token, { jobId: accountWide.jobId, units: 1, uids: ['AA01'] });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'uid_already_programmed', details: { uid: 'AA01', serial: s1 } });

    // Traceability by chip: AA01 was programmed in the first job as s1 and is claimed in the other.
    const lookup = async (uid: string, token = viewer) => {
      const response = await call('GET', `v1/units?uid=${uid}`, { token });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.items as { jobId: string; serial: string; programmerId: string; match: unknown; result: { status: string } | null }[];
    };
    const stories = await lookup('aa01');
    expect(stories.map((story) => story.jobId).sort()).toEqual([job.jobId, elsewhere.jobId].sort());
    const programmed = stories.find((story) => story.jobId === job.jobId)!;
    expect(programmed).toMatchObject({ serial: s1, programmerId: me.programmerId, match: { field: 'uid', sourceId: job.jobId, value: 'AA01' }, result: { status: 'success' } });
    expect(stories.find((story) => story.jobId === elsewhere.jobId)!.result).toBeNull();
    // AA02 failed with `me` and was freed: its story now is the unit `other` got it for.
    expect((await lookup('AA02')).map((story) => story.programmerId)).toEqual([other.programmerId]);
    expect(await lookup('AA01', stranger.admin)).toEqual([]);
    expect((await call('GET', 'v1/units?uid=not-hex', { token: viewer })).status).toBe(400);
  });

  it('lets PATCH set uidPolicy before the first authorization only', async () => {
    const job = (await register({})).body.job;
    expect(job.uidPolicy).toBe('none');
    const patched = await call('PATCH', `v1/jobs/${job.jobId}`, { token: author, body: { uidPolicy: 'unique_per_account' } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.job.uidPolicy).toBe('unique_per_account');
    expect((await authorize(programmers[0]!.token, { jobId: job.jobId, units: 1, uids: [`B0${randomUUID().slice(0, 8)}`] })).status).toBe(201);
    const late = await call('PATCH', `v1/jobs/${job.jobId}`, { token: author, body: { uidPolicy: 'none' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('job_started');
  });

  it('runs the simulator on a CA + UID job: it reads fake chips, sends a CSR per unit and verifies every certificate', async () => {
    const job = (await register({ unitFields: [{ name: 'cert', source: { certificateAuthority: caId } }], uidPolicy: 'unique_per_job', restrictions: { maxCount: 8 } })).body.job;
    const summary = await simulate({ programmers: programmers.slice(0, 2), jobId: job.jobId, batch: 2, concurrency: 1, programMs: 0, failureRate: 0.25, seed: `certs-${job.jobId}`, sendLogs: false });
    expect(summary, JSON.stringify(summary.errors)).toMatchObject({ ok: true, units: 8, certificatesVerified: 8 });
    expect(summary.ticketsVerified).toBe(summary.authorizations);
    // Every unit reported a UID the cloud accepted: the successful ones are programmed now.
    const counters = (await call('GET', `v1/jobs/${job.jobId}`, { token: viewer })).body.job.counters;
    expect(counters.succeeded + counters.failed).toBe(8);
  });
});
