import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../cli/simulate/simulator.js';
import { FlashlineApiError, FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { call, createAccount, feedSettled, uniqueName } from '../support/api.js';

const directImage = (name: string) => ({ name, contentSha256: createHash('sha256').update(name).digest('hex'), sizeBytes: 4096, delivery: 'direct' as const });

/** The API error a call ends in, or a failure when it succeeds. */
async function refusal(promise: Promise<unknown>): Promise<FlashlineApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FlashlineApiError) return error;
    throw error;
  }
  throw new Error('the call succeeded but should have been refused');
}

/**
 * Issue 11 parts 3 and 4 on the deployed stack: programmer groups (a job aimed at a group is
 * neither listed to nor authorized for the programmers outside it) and job replace (a new image
 * mid-run; programmers holding the old one are refused image_replaced with the new binding, and
 * the simulator follows without counting anything twice).
 */
describe('programmer groups and job replace', () => {
  let admin: FlashlineClient;
  let adminToken: string;
  let author: FlashlineClient;
  let authorToken: string;
  let factoryId: string;

  const provision = async (name: string, groupIds?: string[], encryptionKeyIds?: string[]) => {
    const created = await admin.call(contract.provisionProgrammer, { body: { name, hardwareSerial: randomUUID(), factoryId, ...(groupIds && { groupIds }), ...(encryptionKeyIds && { encryptionKeyIds }) } });
    return { ...created, client: FlashlineClient.fromCredentials(created.credentials, { validateResponses: true }) };
  };

  beforeAll(async () => {
    const credentials = await createAccount(uniqueName('Groups'));
    adminToken = credentials.token;
    admin = FlashlineClient.fromCredentials(credentials, { validateResponses: true });
    const key = await admin.call(contract.createApiKey, { body: { name: 'line tool', role: 'author' } });
    authorToken = key.credentials.token;
    author = FlashlineClient.fromCredentials(key.credentials, { validateResponses: true });
    ({ factory: { factoryId } } = await admin.call(contract.createFactory, { body: { name: uniqueName('Grouped line') } }));
  });

  it('an admin provisions a programmer into a group, and a job targeted at another group is refused to it', async () => {
    const { group: lineA } = await admin.call(contract.createGroup, { params: { factoryId }, body: { name: 'Line A' } });
    const { group: lineB } = await admin.call(contract.createGroup, { params: { factoryId }, body: { name: 'Line B' } });
    expect(lineA).toMatchObject({ factoryId, name: 'Line A' });
    expect((await refusal(admin.call(contract.createGroup, { params: { factoryId }, body: { name: 'line a' } }))).code).toBe('name_taken');
    const listed = await author.call(contract.listGroups, { params: { factoryId } });
    expect(listed.items.map((group) => group.groupId).sort()).toEqual([lineA.groupId, lineB.groupId].sort());

    const inA = await provision('Cyclone A', [lineA.groupId]);
    const inB = await provision('Cyclone B', [lineB.groupId]);
    const ungrouped = await provision('Cyclone loose');
    expect(inA.programmer.groupIds).toEqual([lineA.groupId]);
    expect((await admin.call(contract.getProgrammer, { params: { programmerId: inA.programmer.programmerId } })).programmer.groupIds).toEqual([lineA.groupId]);

    const registered = await author.call(contract.registerImage, { body: { ...directImage(uniqueName('Line B firmware')), factoryId, restrictions: { maxCount: 50 } } });
    const jobId = registered.job.jobId;
    expect(registered.job).toMatchObject({ targetGroupIds: null, imageVersion: 1 });
    const { job: targeted } = await author.call(contract.updateJob, { params: { jobId }, body: { targetGroupIds: [lineB.groupId] } });
    expect(targeted.targetGroupIds).toEqual([lineB.groupId]);

    const visibleTo = async (programmer: { client: FlashlineClient }) => (await programmer.client.call(contract.listDeviceJobs)).items.some((job) => job.jobId === jobId);
    expect(await visibleTo(inB)).toBe(true);
    expect(await visibleTo(inA)).toBe(false);
    expect(await visibleTo(ungrouped)).toBe(false);

    const refused = await refusal(inA.client.call(contract.authorizeProgramming, { body: { jobId, units: 2, nonce: `grp-${randomUUID()}` } }));
    expect(refused).toMatchObject({ status: 409, code: 'not_in_target_group', details: { targetGroupIds: [lineB.groupId] } });
    expect((await refusal(ungrouped.client.call(contract.createDownloadUrl, { params: { jobId } }))).code).toBe('not_in_target_group');
    const granted = await inB.client.call(contract.authorizeProgramming, { body: { jobId, units: 2, nonce: `grp-${randomUUID()}` } });
    expect(granted.units).toBe(2);
    // The refusal reserved nothing: only the member's units are counted.
    expect((await author.call(contract.getJob, { params: { jobId } })).job.counters.authorized).toBe(2);

    // Joining the group opens the job to the programmer at once; null opens it to the whole factory.
    await admin.call(contract.updateProgrammer, { params: { programmerId: inA.programmer.programmerId }, body: { groupIds: [lineA.groupId, lineB.groupId] } });
    expect(await visibleTo(inA)).toBe(true);
    expect((await inA.client.call(contract.authorizeProgramming, { body: { jobId, units: 1, nonce: `grp-${randomUUID()}` } })).units).toBe(1);
    await author.call(contract.updateJob, { params: { jobId }, body: { targetGroupIds: null } });
    expect(await visibleTo(ungrouped)).toBe(true);
    expect((await author.call(contract.getJob, { params: { jobId } })).job).toMatchObject({ targetGroupIds: null, counters: { authorized: 3 } });
  });

  it('refuses groups that are not of the factory, and bad group lists, by name and without writing', async () => {
    const { factory: other } = await admin.call(contract.createFactory, { body: { name: uniqueName('Other line') } });
    const { group: elsewhere } = await admin.call(contract.createGroup, { params: { factoryId: other.factoryId }, body: { name: 'Elsewhere' } });
    const stranger = await createAccount(uniqueName('Stranger'));
    const strangerFactory = (await call('GET', 'v1/account', { token: stranger.token })).body.account.defaultFactoryId;
    const foreign = await call('POST', `v1/factories/${strangerFactory}/groups`, { token: stranger.token, body: { name: 'Foreign' } });
    expect(foreign.status).toBe(201);

    const programmer = await provision('Cyclone strict');
    const { job } = await author.call(contract.registerImage, { body: { ...directImage(uniqueName('Strict firmware')), factoryId } });
    for (const groupId of [elsewhere.groupId, foreign.body.group.groupId, 'grp_missing']) {
      const patchProgrammer = await call('PATCH', `v1/programmers/${programmer.programmer.programmerId}`, { token: adminToken, body: { groupIds: [groupId] } });
      expect(patchProgrammer.status).toBe(404);
      const patchJob = await call('PATCH', `v1/jobs/${job.jobId}`, { token: adminToken, body: { targetGroupIds: [groupId] } });
      expect(patchJob.status).toBe(404);
      expect((await call('POST', 'v1/programmers', { token: adminToken, body: { name: 'x', hardwareSerial: randomUUID(), factoryId, groupIds: [groupId] } })).status).toBe(404);
    }
    const empty = await call('PATCH', `v1/jobs/${job.jobId}`, { token: adminToken, body: { targetGroupIds: [] } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details.issues[0].path).toBe('targetGroupIds');
    const twice = await call('PATCH', `v1/programmers/${programmer.programmer.programmerId}`, { token: adminToken, body: { groupIds: [elsewhere.groupId, elsewhere.groupId] } });
    expect(twice.status).toBe(400);
    expect(twice.body.error.details.issues[0].path).toBe('groupIds');
    expect((await admin.call(contract.getProgrammer, { params: { programmerId: programmer.programmer.programmerId } })).programmer.groupIds).toEqual([]);
    expect((await author.call(contract.getJob, { params: { jobId: job.jobId } })).job.targetGroupIds).toBeNull();
    // Another account's group list is 404, like everything of another account.
    expect((await call('GET', `v1/factories/${strangerFactory}/groups`, { token: adminToken })).status).toBe(404);
    expect((await call('DELETE', `v1/groups/${foreign.body.group.groupId}`, { token: adminToken })).status).toBe(404);
    // Viewers and authors read groups; only an admin makes them.
    expect((await call('POST', `v1/factories/${factoryId}/groups`, { token: authorToken, body: { name: 'Not mine' } })).status).toBe(403);
  });

  it('keeps a group while programmers belong to it or jobs target it; moving a programmer leaves its groups', async () => {
    const { group } = await admin.call(contract.createGroup, { params: { factoryId }, body: { name: uniqueName('Busy') } });
    const member = await provision('Cyclone member', [group.groupId]);
    const { job } = await author.call(contract.registerImage, { body: { ...directImage(uniqueName('Busy firmware')), factoryId } });
    await author.call(contract.updateJob, { params: { jobId: job.jobId }, body: { targetGroupIds: [group.groupId] } });

    const inUse = await refusal(admin.call(contract.deleteGroup, { params: { groupId: group.groupId } }));
    expect(inUse).toMatchObject({ status: 409, code: 'group_in_use', details: { programmerIds: [member.programmer.programmerId], jobIds: [job.jobId] } });
    // The refused delete left the group usable.
    await author.call(contract.updateJob, { params: { jobId: job.jobId }, body: { targetGroupIds: [group.groupId] } });

    const { factory: next } = await admin.call(contract.createFactory, { body: { name: uniqueName('Next line') } });
    const moved = await admin.call(contract.updateProgrammer, { params: { programmerId: member.programmer.programmerId }, body: { factoryId: next.factoryId } });
    expect(moved.programmer).toMatchObject({ factoryId: next.factoryId, groupIds: [] });
    await author.call(contract.deleteJob, { params: { jobId: job.jobId } });
    await admin.call(contract.deleteGroup, { params: { groupId: group.groupId } });
    expect((await author.call(contract.listGroups, { params: { factoryId } })).items.map((item) => item.groupId)).not.toContain(group.groupId);

    await feedSettled();
    const audit = await admin.call(contract.listAudit, { query: { since: new Date(Date.now() - 600_000).toISOString() } });
    const actions = audit.items.filter((entry) => entry.target.id === group.groupId).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['group.create', 'group.delete']));
  });

  it('deletes an empty factory with its groups in one write: nothing of them is left, their names are free again', async () => {
    const name = uniqueName('Closing line');
    const { factory } = await admin.call(contract.createFactory, { body: { name } });
    const groupNames = [uniqueName('Day shift'), uniqueName('Night shift')];
    const groups = await Promise.all(groupNames.map((groupName) => admin.call(contract.createGroup, { params: { factoryId: factory.factoryId }, body: { name: groupName } })));
    await admin.call(contract.deleteFactory, { params: { factoryId: factory.factoryId } });

    expect(await refusal(admin.call(contract.listGroups, { params: { factoryId: factory.factoryId } }))).toMatchObject({ status: 404 });
    // A group of the deleted factory cannot be deleted, joined or named any more: it is gone.
    for (const { group } of groups) expect(await refusal(admin.call(contract.deleteGroup, { params: { groupId: group.groupId } }))).toMatchObject({ status: 404 });
    // A factory of the same name takes groups of the same names: no name lock was left behind.
    const { factory: again } = await admin.call(contract.createFactory, { body: { name } });
    const { group: reused } = await admin.call(contract.createGroup, { params: { factoryId: again.factoryId }, body: { name: groupNames[0]! } });
    expect(reused.name).toBe(groupNames[0]);

    await feedSettled();
    const audit = await admin.call(contract.listAudit, { query: { since: new Date(Date.now() - 600_000).toISOString() } });
    const deleted = audit.items.find((entry) => entry.action === 'factory.delete' && entry.target.id === factory.factoryId);
    expect((deleted?.details as { groupsDeleted?: string[] }).groupsDeleted?.sort()).toEqual([...groupNames].sort());
  });

  it('replaces a job image mid-run: the simulator follows to the new image and the counters equal the units it reported', async () => {
    const line = [await provision('Cyclone R1', undefined, ['key-replace']), await provision('Cyclone R2', undefined, ['key-replace'])];
    const uploadCloud = async (upload: { url: string; headers: Record<string, string> } | undefined, bytes: Buffer, imageId: string) => {
      const put = await fetch(upload!.url, { method: 'PUT', headers: upload!.headers, body: new Uint8Array(bytes) });
      expect(put.status).toBe(200);
      for (;;) {
        const { image } = await author.call(contract.getImage, { params: { imageId } });
        if (image.status === 'available') return;
        expect(image.status).toBe('pending_upload');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const cloudBody = (bytes: Buffer, name: string) => ({
      name,
      contentSha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
      delivery: 'cloud' as const,
      encryptionKeyId: 'key-replace',
    });
    const firstBytes = randomBytes(16 * 1024);
    const registered = await author.call(contract.registerImage, {
      body: { ...cloudBody(firstBytes, uniqueName('Firmware 1.0')), factoryId, restrictions: { maxCount: 60 }, serials: { start: 1, format: 'RPL-{n:05}' } },
    });
    const jobId = registered.job.jobId;
    await uploadCloud(registered.upload, firstBytes, registered.image.imageId);

    // The replace happens between two authorizations of the run: after the third grant, before its answer reaches the simulator.
    const secondBytes = randomBytes(16 * 1024);
    let grants = 0;
    let replaced: contract.ResponseOf<typeof contract.replaceJobImage> | undefined;
    const replacingFetch: typeof fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      if (String(input).endsWith('/v1/device/authorizations') && response.status === 201 && (grants += 1) === 3) {
        replaced = await author.call(contract.replaceJobImage, { params: { jobId }, body: cloudBody(secondBytes, 'Firmware 1.1') });
        await uploadCloud(replaced.upload, secondBytes, replaced.image.imageId);
      }
      return response;
    };
    const summary = await simulate({
      programmers: line.map((programmer) => programmer.credentials),
      jobId,
      units: 40,
      batch: 4,
      concurrency: 2,
      programMs: 5,
      binding: registered.binding,
      failureRate: 0.1,
      seed: 'replace',
      sendLogs: false,
      fetch: replacingFetch,
    });

    expect(replaced).toBeDefined();
    expect(replaced!.job).toMatchObject({ jobId, imageId: replaced!.image.imageId, imageVersion: 2 });
    expect(summary).toMatchObject({ ok: true, stopReason: 'units_done', errors: [], units: 40, imagesFollowed: 1 });
    expect(summary.refusals.image_replaced).toBeGreaterThan(0);
    // Both programmers fetched the first image, then the second.
    expect(summary.imagesVerified).toBe(4);

    const { job } = await author.call(contract.getJob, { params: { jobId } });
    expect(job).toMatchObject({ imageId: replaced!.image.imageId, imageVersion: 2, restrictions: { maxCount: 60 }, serials: { format: 'RPL-{n:05}' } });
    // Nothing counted twice: what the job counts is what the simulator was granted and reported.
    expect(job.counters.authorized).toBe(summary.authorizedUnits);
    expect(job.counters.succeeded + job.counters.failed).toBe(summary.units);
    expect(job.counters.succeeded).toBe(summary.successes);
    expect(job.serials.next).toBe(`RPL-${String(summary.authorizedUnits + 1).padStart(5, '0')}`);

    // Presenting the old binding now: refused with the new ids, nothing reserved.
    const stale = await refusal(line[0]!.client.call(contract.authorizeProgramming, { body: { jobId, units: 1, nonce: `old-${randomUUID()}`, binding: registered.binding } }));
    expect(stale).toMatchObject({ status: 409, code: 'image_replaced', details: { imageId: replaced!.image.imageId, binding: replaced!.binding } });
    expect((await author.call(contract.getJob, { params: { jobId } })).job.counters.authorized).toBe(summary.authorizedUnits);

    await feedSettled();
    const results = await author.call(contract.listJobResults, { params: { jobId } });
    expect(new Set(results.items.map((result) => result.serial)).size).toBe(summary.units);
    const audit = await admin.call(contract.listAudit, { query: { since: new Date(Date.now() - 600_000).toISOString() } });
    expect(audit.items.find((entry) => entry.action === 'job.replace' && entry.target.id === jobId)?.details).toMatchObject({
      fromImageId: registered.image.imageId,
      toImageId: replaced!.image.imageId,
      imageVersion: 2,
    });
  });

  it('refuses a replace body that carries job settings, and a replace of a deleted job', async () => {
    const { job } = await author.call(contract.registerImage, { body: { ...directImage(uniqueName('Kept firmware')), factoryId, restrictions: { maxCount: 5 } } });
    const withSettings = await call('POST', `v1/jobs/${job.jobId}/replace`, { token: adminToken, body: { ...directImage('New'), restrictions: { maxCount: 9 } } });
    expect(withSettings.status).toBe(400);
    expect(JSON.stringify(withSettings.body.error.details.issues)).toContain('restrictions');
    const cloudWithoutKey = await call('POST', `v1/jobs/${job.jobId}/replace`, { token: adminToken, body: { ...directImage('New'), delivery: 'cloud' } });
    expect(cloudWithoutKey.status).toBe(400);
    expect(cloudWithoutKey.body.error.code).toBe('encryption_required');
    expect((await author.call(contract.getJob, { params: { jobId: job.jobId } })).job).toMatchObject({ imageId: job.imageId, imageVersion: 1, restrictions: { maxCount: 5 } });
    await author.call(contract.deleteJob, { params: { jobId: job.jobId } });
    expect((await call('POST', `v1/jobs/${job.jobId}/replace`, { token: adminToken, body: directImage('Too late') })).status).toBe(404);
  });
});
