import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import {
  CHROMIUM,
  type ConsoleBrowser,
  cellOf,
  expectAccessible,
  expectText,
  haveChromium,
  openConsole,
  pressByKeyboard,
  requireChromium,
  screenshot,
  signInWithToken,
  valueOf,
  warnWithoutChromium,
} from '../support/browser.js';

/**
 * The web console in a real headless Chromium against the stack deployed on the emulator: an
 * admin signs in, manages factories and programmers, publishes images (a cloud one uploaded
 * from the page), watches a job's counters move while a programmer works, edits its
 * restrictions, pauses it from the keyboard, reads the dashboard and the filtered audit trail,
 * and opens a "View online" deep link in a fresh tab. axe-core checks every page it shows.
 */
warnWithoutChromium('console e2e');

describe.skipIf(!haveChromium && !requireChromium)(`the web console in Chromium (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let programmerToken: string;
  let programmerName: string;
  let factoryName: string;
  let factoryId: string;
  let emptyFactoryName: string;
  let jobName: string;
  let jobId: string;
  let nearlyDoneName: string;
  let cloudImageId: string;
  let console_: ConsoleBrowser;
  let page: Page;

  const device = (route: string, body: unknown) => call('POST', route, { token: programmerToken, body });
  const mainNav = () => page.getByRole('navigation', { name: 'Main' });

  beforeAll(async () => {
    console_ = await openConsole();
    page = console_.page;

    admin = await createAccount(uniqueName('Console'));
    factoryName = uniqueName('Console Line');
    const factory = await call('POST', 'v1/factories', { token: admin.token, body: { name: factoryName } });
    expect(factory.status).toBe(201);
    factoryId = factory.body.factory.factoryId;
    emptyFactoryName = uniqueName('Empty Line');
    expect((await call('POST', 'v1/factories', { token: admin.token, body: { name: emptyFactoryName } })).status).toBe(201);
    programmerName = uniqueName('Cyclone');
    const programmer = await call('POST', 'v1/programmers', { token: admin.token, body: { name: programmerName, hardwareSerial: randomUUID(), factoryId } });
    expect(programmer.status).toBe(201);
    programmerToken = programmer.body.credentials.token;
    jobName = uniqueName('Motor controller');
    const image = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name: jobName, factoryId, contentSha256: 'ab'.repeat(32), sizeBytes: 4096, delivery: 'direct', restrictions: { maxCount: 100 }, serials: { start: 1, format: 'MC-{n:06}' } },
    });
    expect(image.status, JSON.stringify(image.body)).toBe(201);
    jobId = image.body.job.jobId;
    // A job with one unit left of ten: the dashboard lists it as near its limit.
    nearlyDoneName = uniqueName('Nearly done');
    const nearly = await call('POST', 'v1/images', { token: admin.token, body: { name: nearlyDoneName, factoryId, contentSha256: 'cd'.repeat(32), sizeBytes: 1024, delivery: 'direct', restrictions: { maxCount: 10 } } });
    expect(nearly.status).toBe(201);
    expect((await device('v1/device/authorizations', { jobId: nearly.body.job.jobId, units: 9, nonce: randomUUID() })).status).toBe(201);
  });

  afterAll(async () => {
    await console_?.close();
  });

  it("fails a page with the job page's two former violations: the axe check can fail", async () => {
    const probe = await console_.browser.newPage();
    // What the job page's log was: list items under role="log" (no list), a scrolling box without focus.
    const lines = Array.from({ length: 40 }, (_, i) => `<li>line ${i}</li>`).join('');
    await probe.setContent(`<!doctype html><html lang="en"><head><title>probe</title></head><body><main><h1>Probe</h1><ol role="log" style="max-height:4rem;overflow:auto">${lines}</ol></main></body></html>`);
    const failure = await expectAccessible(probe, 'the probe').then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/serious listitem/);
    expect(failure).toMatch(/serious scrollable-region-focusable/);
    await probe.close();
  });

  it("refuses a wrong token with the API's error, then signs in with the credentials file onto the dashboard", async () => {
    await page.goto(console_.server.url);
    await page.getByRole('heading', { name: 'Sign in to Flashline' }).waitFor();
    await expectAccessible(page, 'the sign-in page');
    await signInWithToken(page, 'flk.not-a-real-token');
    await expectText(page.getByRole('alert'), /Could not sign in/);
    await expectText(page.getByRole('alert').locator('.error-code'), 'unauthenticated');
    await expectAccessible(page, 'the sign-in page with its error');

    await signInWithToken(page, JSON.stringify(admin));
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    // The token lives in the tab's session storage, never in the address.
    expect(page.url()).not.toContain(admin.token);
  });

  it('creates, renames and deletes factories from the keyboard, and shows what the API refuses', async () => {
    await pressByKeyboard(page, mainNav().getByRole('link', { name: 'Factories' }));
    await page.getByRole('heading', { name: 'Factories', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: 'Virtual Factories of this account' });
    await table.getByRole('link', { name: factoryName }).waitFor();

    const created = uniqueName('Keyboard Line');
    await pressByKeyboard(page, page.getByLabel('New factory name'), null);
    await page.keyboard.type(created);
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: `Factory "${created}" created.` }).waitFor();
    await table.getByRole('link', { name: created }).waitFor();

    // A name already taken: the API's code is shown, nothing is created.
    await page.getByLabel('New factory name').fill(created);
    await page.getByRole('button', { name: 'Create factory' }).click();
    await expectText(page.getByRole('alert').locator('.error-code'), 'name_taken');
    await expectAccessible(page, 'the factories page with an error');

    const renamed = `${created} (renamed)`;
    await pressByKeyboard(page, page.getByRole('button', { name: `Rename ${created}` }));
    const renameDialog = page.getByRole('dialog', { name: `Rename ${created}` });
    await renameDialog.waitFor();
    await renameDialog.getByLabel('Name').fill(renamed);
    await expectAccessible(page, 'the rename dialog');
    await renameDialog.getByLabel('Name').press('Enter');
    await renameDialog.waitFor({ state: 'hidden' });
    await table.getByRole('link', { name: renamed, exact: true }).waitFor();
    const listed = await call('GET', 'v1/factories', { token: admin.token });
    const renamedFactory = listed.body.items.find((item: { name: string }) => item.name === renamed);
    expect(renamedFactory).toBeDefined();

    // A factory with a programmer and jobs cannot go: the refusal shows inside the dialog.
    await page.getByRole('button', { name: `Delete ${factoryName}` }).click();
    const refusedDialog = page.getByRole('dialog', { name: `Delete ${factoryName}?` });
    await refusedDialog.getByRole('button', { name: 'Delete factory' }).click();
    await expectText(refusedDialog.getByRole('alert').locator('.error-code'), 'factory_not_empty');
    await page.keyboard.press('Escape');
    await refusedDialog.waitFor({ state: 'hidden' });

    await pressByKeyboard(page, page.getByRole('button', { name: `Delete ${renamed}` }));
    const deleteDialog = page.getByRole('dialog', { name: `Delete ${renamed}?` });
    await deleteDialog.getByRole('button', { name: 'Delete factory' }).click();
    await deleteDialog.waitFor({ state: 'hidden' });
    await table.getByRole('link', { name: renamed, exact: true }).waitFor({ state: 'detached' });
    expect((await call('GET', `v1/factories/${renamedFactory.factoryId}`, { token: admin.token })).status).toBe(404);
    await expectAccessible(page, 'the factories page');
    await screenshot(page, 'factories', 'console-factories');
  });

  it('provisions a programmer with its credentials file downloaded once, then moves, disables and enables it', async () => {
    await mainNav().getByRole('link', { name: 'Programmers' }).click();
    await page.getByRole('heading', { name: 'Programmers', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: 'Programmers' });
    await table.getByRole('row').filter({ hasText: programmerName }).waitFor();

    // Empty state: a factory without programmers.
    await page.getByLabel('Show factory').selectOption({ label: emptyFactoryName });
    await page.getByText('No programmers in this factory').waitFor();
    await page.getByLabel('Show factory').selectOption({ label: 'All factories' });

    const name = uniqueName('Cyclone UI');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Hardware serial').fill(`HW-${randomUUID()}`);
    await page.getByLabel('Factory', { exact: true }).selectOption({ label: factoryName });
    await page.getByLabel('Encryption key ids').fill('key-east-1, key-east-2');
    await pressByKeyboard(page, page.getByRole('button', { name: 'Provision', exact: true }));
    const panel = page.getByRole('region', { name: `Credentials of ${name}` });
    await panel.waitFor();
    await expectAccessible(page, 'the credentials download');
    // Leaving before the download asks first; staying keeps the page, its address and the offer.
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await mainNav().getByRole('link', { name: 'Factories' }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain(`The credentials of ${name} are not downloaded yet`);
    expect(new URL(page.url()).hash).toBe('#/programmers');
    await page.getByRole('heading', { name: 'Programmers', level: 1 }).waitFor();
    await panel.getByRole('button', { name: /^Download / }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: /^Download / }).click()]);
    expect(download.suggestedFilename()).toMatch(/^cyclone-ui-.*\.credentials\.json$/);
    const credentials = JSON.parse(readFileSync((await download.path())!, 'utf8')) as CredentialsFileType & { programmerId: string };
    expect(credentials.role).toBe('programmer');
    // Offered once: the panel is gone, the form is back, and the downloaded file works.
    await panel.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Provision', exact: true }).waitFor();
    expect((await call('GET', 'v1/device/jobs', { token: credentials.token })).status).toBe(200);
    const row = table.getByRole('row').filter({ hasText: name });
    await expectText(await cellOf(table, row, 'Factory'), factoryName);
    const stored = await call('GET', `v1/programmers/${credentials.programmerId}`, { token: admin.token });
    expect(stored.body.programmer.encryptionKeyIds).toEqual(['key-east-1', 'key-east-2']);

    await pressByKeyboard(page, page.getByRole('button', { name: `Move ${name}` }));
    const moveDialog = page.getByRole('dialog', { name: `Move ${name}` });
    await moveDialog.getByLabel('Factory').selectOption({ label: emptyFactoryName });
    await moveDialog.getByRole('button', { name: 'Move' }).click();
    await moveDialog.waitFor({ state: 'hidden' });
    await expectText(await cellOf(table, row, 'Factory'), emptyFactoryName);

    await pressByKeyboard(page, page.getByRole('button', { name: `Disable ${name}` }));
    await page.getByRole('dialog', { name: `Disable ${name}?` }).getByRole('button', { name: 'Disable programmer' }).click();
    await expectText(await cellOf(table, row, 'Status'), 'disabled');
    const disabled = await call('GET', `v1/programmers/${credentials.programmerId}`, { token: admin.token });
    expect(disabled.body.programmer).toMatchObject({ status: 'disabled', factoryId: expect.any(String) });
    expect(disabled.body.programmer.factoryId).not.toBe(factoryId);
    await page.getByRole('button', { name: `Enable ${name}` }).click();
    await page.getByRole('dialog', { name: `Enable ${name}?` }).getByRole('button', { name: 'Enable programmer' }).click();
    await expectText(await cellOf(table, row, 'Status'), 'active');
    await expectAccessible(page, 'the programmers page');
    await screenshot(page, 'programmers', 'console-programmers');
  });

  it('registers a direct-delivery image, shows a refused field, and uploads a cloud image from the browser until it is available', async () => {
    await mainNav().getByRole('link', { name: 'Publish image' }).click();
    await page.getByRole('heading', { name: 'Publish an image', level: 1 }).waitFor();
    await expectAccessible(page, 'the publish page');
    await screenshot(page, 'publish-form', 'console-publish-form');
    const form = page.locator('form.grid-form');
    await form.getByLabel('Factory', { exact: true }).selectOption({ label: factoryName });
    await form.getByRole('radio', { name: /^Direct/ }).check();

    // Dates the wrong way round: the API names the field, the page shows it, nothing is created.
    const refusedName = uniqueName('Refused');
    await form.getByLabel('Name', { exact: true }).fill(refusedName);
    await form.getByLabel('SHA-256 (hex)').fill('ef'.repeat(32));
    await form.getByLabel('Size (bytes)').fill('2048');
    await form.getByLabel('Not before').fill('2030-01-02T10:00');
    await form.getByLabel('Not after').fill('2030-01-01T10:00');
    await form.getByRole('button', { name: 'Publish' }).click();
    await expectText(page.getByRole('alert').locator('.error-code'), 'invalid_request');
    await expectText(page.getByRole('alert').getByRole('listitem'), /^restrictions\.notAfter: /);
    await expectAccessible(page, 'the publish page with a refused field');
    const jobsAfterRefusal = await call('GET', `v1/jobs?factoryId=${factoryId}`, { token: admin.token });
    expect(jobsAfterRefusal.body.items.map((job: { name: string }) => job.name)).not.toContain(refusedName);
    // Said once: the list item, not the same text again as the message above it.
    const refusal = (await page.getByRole('alert').textContent()) ?? '';
    expect(refusal.split('restrictions.notAfter').length - 1, refusal).toBe(1);
    // Auto-pause with one of its two numbers: said in the form's words before anything is sent, the empty field marked.
    await form.getByLabel('Not before').fill('');
    await form.getByLabel('Not after').fill('');
    await form.getByLabel('Auto-pause at failure rate (%)').fill('5');
    await form.getByRole('button', { name: 'Publish' }).click();
    await expectText(page.getByRole('alert').locator('.error-code'), 'invalid_restrictions');
    await page.getByRole('alert').filter({ hasText: 'Auto-pause needs both numbers' }).waitFor();
    expect(await form.getByLabel('Auto-pause after at least (units)').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Auto-pause at failure rate (%)').fill('');

    const directName = uniqueName('Direct image');
    await form.getByLabel('Name', { exact: true }).fill(directName);
    await form.getByLabel('Not before').fill('');
    await form.getByLabel('Not after').fill('');
    await form.getByLabel('Maximum count').fill('50');
    await form.getByLabel('Serial format').fill('DI-{n:04}');
    await form.getByRole('button', { name: 'Publish' }).click();
    await page.getByRole('status').filter({ hasText: 'Image registered.' }).waitFor();
    const directJobHref = await page.getByRole('link', { name: directName }).getAttribute('href');
    const directJob = await call('GET', `v1/jobs/${directJobHref!.split('/').pop()}`, { token: admin.token });
    expect(directJob.body.job).toMatchObject({ name: directName, factoryId, restrictions: { maxCount: 50 }, serials: { format: 'DI-{n:04}' } });

    await page.getByRole('button', { name: 'Publish another image' }).click();
    const cloudName = uniqueName('Cloud image');
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const sha256 = createHash('sha256').update(content).digest('hex');
    await form.getByLabel('Factory', { exact: true }).selectOption({ label: factoryName });
    await form.getByRole('radio', { name: /^Cloud/ }).check();
    await form.getByLabel('Name', { exact: true }).fill(cloudName);
    await form.getByLabel('Image file').setInputFiles({ name: 'motor-controller.bin', mimeType: 'application/octet-stream', buffer: content });
    await form.getByLabel('Encryption key id').fill('key-east-1');
    await pressByKeyboard(page, form.getByRole('button', { name: 'Publish' }));
    // The page computed the checksum itself; the verifier agreed with what S3 received.
    await page.getByRole('status').filter({ hasText: 'Image available.' }).waitFor({ timeout: 60_000 });
    const imageHref = await valueOf(page, 'Image').getByRole('link').getAttribute('href');
    cloudImageId = decodeURIComponent(imageHref!.split('/').pop()!);
    const image = await call('GET', `v1/images/${cloudImageId}`, { token: admin.token });
    expect(image.body.image).toMatchObject({ name: cloudName, status: 'available', contentSha256: sha256, sizeBytes: content.length, delivery: 'cloud' });
    await expectText(valueOf(page, 'SHA-256'), sha256);
    await expectAccessible(page, 'the published cloud image');
    await screenshot(page, 'publish', 'console-publish');
  });

  it("lists the factory's job and updates its counters while a programmer works", async () => {
    await mainNav().getByRole('link', { name: 'Factories' }).click();
    await page.getByRole('link', { name: factoryName }).click();
    await page.getByRole('heading', { name: factoryName }).waitFor();
    const table = page.getByRole('table', { name: 'Jobs of this factory' });
    const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: jobName }) });
    await expectText(await cellOf(table, row, 'Status'), 'active');
    await expectText(await cellOf(table, row, 'Remaining'), '100');
    await expectText(await cellOf(table, row, 'Yield'), '—');

    const grant = await device('v1/device/authorizations', { jobId, units: 24, nonce: randomUUID() });
    expect(grant.status, JSON.stringify(grant.body)).toBe(201);
    // Programmed over the last twelve minutes, so the chart has a shape; units 3, 11 and 19 fail.
    const started = Date.now() - 12 * 60_000;
    const results = grant.body.serials.map((serial: string, i: number) => ({
      serial,
      status: i % 8 === 2 ? 'failure' : 'success',
      errorCode: i % 8 === 2 ? 'VERIFY_MISMATCH' : undefined,
      durationMs: 1800 + (i % 5) * 100,
      at: new Date(started + i * 30_000).toISOString(),
    }));
    const reported = await device('v1/device/results', { authorizationId: grant.body.authorizationId, results });
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    const at = new Date().toISOString();
    const logged = await device('v1/device/logs', {
      jobId,
      authorizationId: grant.body.authorizationId,
      lines: [
        { at, level: 'info', message: `programmed ${grant.body.serials[0]} in 1.8 s` },
        { at, level: 'error', message: `verify failed on ${grant.body.serials[2]}: VERIFY_MISMATCH` },
        { at, level: 'info', message: `batch of ${grant.body.units} done: 21 ok, 3 failed` },
      ],
    });
    expect(logged.status, JSON.stringify(logged.body)).toBe(200);

    await expectText(await cellOf(table, row, 'Authorized'), '24');
    await expectText(await cellOf(table, row, 'Succeeded'), '21');
    await expectText(await cellOf(table, row, 'Failed'), '3');
    await expectText(await cellOf(table, row, 'Remaining'), '76');
    await expectText(await cellOf(table, row, 'Yield'), '87.5 %');
    await expectAccessible(page, "a factory's jobs");
    await screenshot(page, 'factory-jobs', 'console-factory-jobs');

    // Empty state of a filter.
    await page.getByLabel('Status').selectOption({ label: 'Deleted' });
    await page.getByText('No jobs in status deleted').waitFor();
    await page.getByLabel('Status').selectOption({ label: 'All but deleted' });
  });

  it('changes the job restrictions, then pauses it from the keyboard after a confirmation, and the programmer is refused', async () => {
    await page.getByRole('link', { name: jobName }).click();
    await page.getByRole('heading', { name: jobName }).waitFor();
    await expectText(valueOf(page, 'Succeeded'), '21');
    await expectText(valueOf(page, 'Failed'), '3');
    await expectText(valueOf(page, 'Yield'), '87.5 %');
    // The chart's accessible name carries its summary for screen readers.
    await page.getByRole('img', { name: /^Results over time 21 succeeded and 3 failed between/ }).waitFor();
    const recent = page.getByRole('table', { name: 'Recent results' });
    await expectText(await cellOf(recent, recent.getByRole('row').filter({ hasText: 'MC-000019' }), 'Error'), 'VERIFY_MISMATCH');
    await expectText(page.getByRole('log'), /verify failed on MC-000003: VERIFY_MISMATCH/);
    // The page that had two serious violations (list items outside a list, an unfocusable scrolling log).
    await expectAccessible(page, 'the job page');

    await pressByKeyboard(page, page.getByRole('button', { name: 'Edit restrictions' }));
    const editor = page.getByRole('dialog', { name: 'Edit restrictions' });
    await editor.getByLabel('Maximum count').fill('10');
    await editor.getByRole('button', { name: 'Save restrictions' }).click();
    // Below the 24 units already authorized: refused, shown in the dialog, nothing changed.
    await expectText(editor.getByRole('alert').locator('.error-code'), 'invalid_transition');
    await editor.getByLabel('Maximum count').fill('90');
    await editor.getByLabel('Auto-pause at failure rate (%)').fill('50');
    await editor.getByLabel('Auto-pause after at least (units)').fill('20');
    await expectAccessible(page, 'the restrictions editor');
    await editor.getByRole('button', { name: 'Save restrictions' }).click();
    await editor.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Restrictions saved.' }).waitFor();
    await expectText(valueOf(page, 'Remaining'), '66');
    const edited = await call('GET', `v1/jobs/${jobId}`, { token: admin.token });
    expect(edited.body.job.restrictions).toMatchObject({ maxCount: 90, autoPause: { failureRate: 0.5, minUnits: 20 } });

    await pressByKeyboard(page, page.getByRole('button', { name: 'Actions' }));
    // The menu opens with focus on its first enabled item: Resume is not offered while active.
    await expect.poll(() => page.getByRole('menuitem', { name: 'Resume' }).isDisabled()).toBe(true);
    await expect.poll(() => page.getByRole('menuitem', { name: 'Pause' }).evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Pause this job?' });
    await dialog.waitFor();
    await expectAccessible(page, 'the pause confirmation');
    // Escape cancels and changes nothing.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await call('GET', `v1/jobs/${jobId}`, { token: admin.token })).body.job.status).toBe('active');

    await pressByKeyboard(page, page.getByRole('button', { name: 'Actions' }));
    // Enter only once the menu has moved focus to Pause: pressed earlier, it lands on the Actions button again.
    await expect.poll(() => page.getByRole('menuitem', { name: 'Pause' }).evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await pressByKeyboard(page, dialog.getByRole('button', { name: 'Pause job' }));
    await page.getByRole('status').filter({ hasText: 'Job paused.' }).waitFor();
    await expectText(page.getByRole('heading', { level: 1 }).locator('.status'), 'paused');

    const refused = await device('v1/device/authorizations', { jobId, units: 1, nonce: randomUUID() });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('job_paused');
    await screenshot(page, 'job', 'console-job');
  });

  it("shows the account's units today, yield per factory, programmers online and jobs near their limit", async () => {
    await mainNav().getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await expectText(valueOf(page, 'Units today \\(all runs\\)'), '24');
    await expectText(valueOf(page, 'Failed today \\(all runs\\)'), '3');
    await expectText(valueOf(page, 'Yield today \\(all runs\\)'), '87.5 %');
    // The line's programmer, and the one provisioned in the page, whose downloaded credentials listed its jobs.
    await expectText(valueOf(page, 'Programmers online'), '2');
    // Every provisioned programmer is in one of the presence tiles: online, offline, never seen (or disabled, shown when any is).
    const provisioned = ((await call('GET', 'v1/programmers?limit=100', { token: admin.token })).body.items as unknown[]).length;
    const tile = async (term: string) => ((await valueOf(page, term).count()) > 0 ? Number(await valueOf(page, term).textContent()) : 0);
    expect((await tile('Programmers online')) + (await tile('Programmers offline')) + (await tile('Programmers never seen')) + (await tile('Programmers disabled'))).toBe(provisioned);
    const factories = page.getByRole('table', { name: 'Yield and programmers per factory' });
    const row = factories.getByRole('row').filter({ has: page.getByRole('link', { name: factoryName }) });
    await expectText(await cellOf(factories, row, 'Yield (current run)'), '87.5 %');
    await expectText(await cellOf(factories, row, 'Online'), '1');
    const near = page.getByRole('table', { name: 'Jobs near their limit' });
    const nearRow = near.getByRole('row').filter({ has: page.getByRole('link', { name: nearlyDoneName }) });
    await expectText(await cellOf(near, nearRow, 'Remaining'), '1');
    expect(await near.getByRole('link', { name: jobName }).count()).toBe(0);
    await expectAccessible(page, 'the dashboard');
    await screenshot(page, 'dashboard', 'console-dashboard');
  });

  it('filters the audit trail by action, actor and target, in the API', async () => {
    await pressByKeyboard(page, mainNav().getByRole('link', { name: 'Audit trail' }));
    await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
    const table = page.getByRole('table', { name: /Audit trail/ });
    await table.getByRole('row').filter({ hasText: jobId }).filter({ hasText: 'job.pause' }).waitFor();
    await page.getByLabel('Action').selectOption({ label: 'job.pause' });
    await expect.poll(async () => (await table.getByRole('row').allInnerTexts()).slice(1).every((text) => text.includes('job.pause'))).toBe(true);
    // The API filters the whole trail: exactly this job's one pause, found wherever it lies.
    await page.getByLabel('Target').fill(jobId);
    await expectText(page.getByRole('status').filter({ hasText: 'matching' }), /^1 matching entry found/);
    await page.getByLabel('Who').fill('programmer:');
    await expectText(page.getByRole('status').filter({ hasText: 'matching' }), /^0 matching entries found/);
    await expect.poll(() => table.count()).toBe(0);
    await pressByKeyboard(page, page.getByRole('button', { name: 'Clear filters' }));
    await table.getByRole('row').filter({ hasText: 'factory.create' }).first().waitFor();
    await expectAccessible(page, 'the audit trail');
    await screenshot(page, 'audit', 'console-audit');
  });

  it('shows the unit data sources with the jobs that use them, and finds a unit by its pool value', async () => {
    const pool = await call('POST', 'v1/serial-pools', { token: admin.token, body: { name: uniqueName('Boards'), format: 'BD{n:06}' } });
    expect(pool.status, JSON.stringify(pool.body)).toBe(201);
    const fieldsJobName = uniqueName('Traced board');
    const image = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name: fieldsJobName, factoryId, contentSha256: 'ef'.repeat(32), sizeBytes: 1024, delivery: 'direct', unitFields: [{ name: 'board', source: { serialPool: pool.body.serialPool.serialPoolId } }] },
    });
    expect(image.status, JSON.stringify(image.body)).toBe(201);
    const granted = await device('v1/device/authorizations', { jobId: image.body.job.jobId, units: 2, nonce: randomUUID() });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    const [first] = granted.body.unitData as { serial: string; fields: { board: string } }[];
    expect((await device('v1/device/results', { authorizationId: granted.body.authorizationId, results: [{ serial: first!.serial, status: 'success' }] })).status).toBe(200);

    await pressByKeyboard(page, mainNav().getByRole('link', { name: 'Sources' }));
    const pools = page.getByRole('table', { name: 'Serial pools' });
    const row = pools.getByRole('row').filter({ hasText: pool.body.serialPool.name });
    await expectText(await cellOf(pools, row, 'Issued'), '2');
    await expectText(await cellOf(pools, row, 'Used by'), fieldsJobName);
    await expectAccessible(page, 'the sources page');
    await screenshot(page, 'sources', 'console-sources');

    await pressByKeyboard(page, mainNav().getByRole('link', { name: 'Unit lookup' }));
    await page.getByLabel('Look up by').selectOption('serial');
    await page.getByLabel('Value', { exact: true }).fill(first!.fields.board);
    await pressByKeyboard(page, page.getByRole('button', { name: 'Look up' }));
    const stories = page.getByRole('table', { name: /One unit got/ });
    const story = stories.getByRole('row').filter({ hasText: first!.serial });
    await expectText(await cellOf(stories, story, 'Result'), 'success');
    expect(page.url()).toContain(`#/units/serial/${encodeURIComponent(first!.fields.board)}`);
    await expectAccessible(page, 'the unit lookup');
    await screenshot(page, 'units', 'console-units');
    await page.getByLabel('Value', { exact: true }).fill('BD999999');
    await pressByKeyboard(page, page.getByRole('button', { name: 'Look up' }));
    await expectText(page.getByRole('status').filter({ hasText: 'No unit got' }), /^No unit got BD999999/);
    // The job's own serial (not from a pool) is not indexed: the page says what the lookup covers.
    await page.getByLabel('Value', { exact: true }).fill(first!.serial);
    await pressByKeyboard(page, page.getByRole('button', { name: 'Look up' }));
    await expectText(page.getByRole('status').filter({ hasText: 'No unit got' }), new RegExp(`^No unit got ${first!.serial}\\. The lookup covers serials drawn from a serial pool only\\. A job's own serials`));
  });

  it('shows an image page, and a clear error for a job that does not exist', async () => {
    await page.goto(`${console_.server.url}#/images/${cloudImageId}`);
    await expectText(page.getByRole('heading', { level: 1 }).locator('.status'), 'available');
    await expectAccessible(page, 'the image page');
    await page.goto(`${console_.server.url}#/jobs/job_does_not_exist`);
    await expectText(page.getByRole('alert').locator('.error-code'), 'not_found');
    await expectAccessible(page, 'a job that does not exist');
    await page.goto(`${console_.server.url}#/nowhere`);
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await expectAccessible(page, 'the not-found page');
  });

  it('opens a "View online" deep link in a fresh tab: sign in there, land on the job, see its logs', async () => {
    const fresh = await console_.browser.newPage();
    await fresh.goto(`${console_.server.url}#/jobs/${jobId}`);
    // Session storage belongs to one tab: the new tab asks for the token again and keeps the link.
    await signInWithToken(fresh, admin.token);
    await fresh.getByRole('heading', { name: jobName }).waitFor();
    expect(new URL(fresh.url()).hash).toBe(`#/jobs/${jobId}`);
    await expectText(fresh.getByRole('log'), /programmed MC-000001 in 1\.8 s/);
    await expectText(fresh.getByRole('heading', { level: 1 }).locator('.status'), 'paused');
    await fresh.close();
  });

  it('shows late and out-of-order log lines exactly once in the live log view, with their device times', async () => {
    await page.goto(`${console_.server.url}#/jobs/${jobId}`);
    const log = page.getByRole('log');
    await expectText(log, /programmed MC-000001 in 1\.8 s/);
    const lines = (batch: { at: number; message: string }[]) =>
      device('v1/device/logs', { jobId, lines: batch.map((line) => ({ at: new Date(line.at).toISOString(), level: 'info', message: line.message })) });
    const item = (message: string) => log.getByRole('listitem').filter({ has: page.locator('.message', { hasText: new RegExp(`^${message}$`) }) });

    expect((await lines([{ at: Date.now(), message: 'on time A' }])).status).toBe(200);
    await item('on time A').waitFor();
    // A programmer whose clock is 10 minutes behind, two requests at once, lines out of order.
    const behind = Date.now() - 10 * 60_000;
    const late = (i: number) => ({ at: behind + i * 1000, message: `late ${i}` });
    const sent = await Promise.all([lines([late(3), late(1), late(5)]), lines([late(4), late(2)])]);
    expect(sent.map((response) => response.status)).toEqual([200, 200]);
    expect((await lines([{ at: Date.now(), message: 'on time B' }])).status).toBe(200);
    await item('on time B').waitFor();
    expect((await lines([late(0)])).status).toBe(200);
    await item('late 0').waitFor();
    // Two more refreshes (every 3 s): nothing may come twice.
    await page.waitForTimeout(6500);
    for (const message of ['on time A', 'late 0', 'late 1', 'late 2', 'late 3', 'late 4', 'late 5', 'on time B']) {
      expect(await item(message).count(), message).toBe(1);
    }
    expect(await log.getByRole('listitem').count()).toBe(3 + 8);
    // The line shows the device's own time: 10 minutes before it arrived.
    expect(await item('late 0').locator('time').getAttribute('datetime')).toBe(new Date(late(0).at).toISOString());
    expect(await log.getByRole('listitem').last().locator('.message').textContent()).toBe('late 0');
    // The scrolling log takes keyboard focus, so it can be scrolled without a mouse.
    await pressByKeyboard(page, log, null);
    await expectAccessible(page, 'the job page with a long log');
    await screenshot(page, 'late-log-lines');
  });

  it('says the yield guardrail paused a job, and lists its rule and longest lease', async () => {
    const guardedName = uniqueName('Guarded board');
    const image = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name: guardedName, factoryId, contentSha256: 'cd'.repeat(32), sizeBytes: 1024, delivery: 'direct', restrictions: { maxLeaseSeconds: 7200, autoPause: { failureRate: 0.5, minUnits: 2 } } },
    });
    expect(image.status, JSON.stringify(image.body)).toBe(201);
    const guardedId = image.body.job.jobId as string;
    const granted = await device('v1/device/authorizations', { jobId: guardedId, units: 2, nonce: randomUUID() });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    const failures = (granted.body.serials as string[]).map((serial) => ({ serial, status: 'failure', errorCode: 'VERIFY_MISMATCH' }));
    expect((await device('v1/device/results', { authorizationId: granted.body.authorizationId, results: failures })).status).toBe(200);
    expect((await call('GET', `v1/jobs/${guardedId}`, { token: admin.token })).body.job.status).toBe('paused');

    await page.goto(`${console_.server.url}#/jobs/${guardedId}`);
    await page.getByRole('heading', { name: guardedName }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Paused by the yield guardrail.' }).filter({ hasText: "100.0 % of this run's 2 results failed" }).waitFor();
    await page.getByText('Details', { exact: true }).click();
    await expectText(valueOf(page, 'Auto-pause'), 'pauses the job at ≥ 50 % failures once 2 results are in (this run)');
    await expectText(valueOf(page, 'Longest lease'), '2 h');
    await expectAccessible(page, 'a job the guardrail paused');
  });
});
