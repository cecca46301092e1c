import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { expectAccessible, screenshot } from '../support/browser.js';
import { CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, haveChromium, requireChromium } from '../support/chromium.js';

/**
 * Groups and replace in the web console (issue 11 parts 3 and 4), in Debian's Chromium against
 * the deployed stack: an admin makes groups and puts a programmer in one on the programmers
 * page, aims a job at another group on the job page (the programmer is then refused), and
 * replaces the job's image from a file chosen in the browser. The console server proxies the
 * API on a free port, so this file never competes for the CORS-allowed port of the other browser test.
 */
const UI_TIMEOUT_MS = 30_000;

describe.skipIf(!haveChromium && !requireChromium)(`programmer groups and job replace in the console (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let factoryId: string;
  let factoryName: string;
  let programmerId: string;
  let programmerName: string;
  let programmerToken: string;
  let jobId: string;
  let distDir: string;
  let profileDir: string;
  let server: ConsoleServer;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`FLASHLINE_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install Debian's chromium package`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    distDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-groups-'));
    profileDir = mkdtempSync(path.join(tmpdir(), 'flashline-chromium-groups-'));
    await buildConsole({ outDir: distDir });
    server = await startConsoleServer({ apiUrl: inject('apiUrl'), port: 0, distDir, apiMode: 'proxy' });

    admin = await createAccount(uniqueName('Console groups'));
    factoryName = uniqueName('Grouped line');
    factoryId = (await call('POST', 'v1/factories', { token: admin.token, body: { name: factoryName } })).body.factory.factoryId;
    programmerName = uniqueName('Cyclone');
    const programmer = await call('POST', 'v1/programmers', { token: admin.token, body: { name: programmerName, hardwareSerial: randomUUID(), factoryId } });
    expect(programmer.status).toBe(201);
    programmerId = programmer.body.programmer.programmerId;
    programmerToken = programmer.body.credentials.token;
    const image = await call('POST', 'v1/images', {
      token: admin.token,
      body: { name: uniqueName('Gate driver'), factoryId, contentSha256: 'cd'.repeat(32), sizeBytes: 2048, delivery: 'direct', restrictions: { maxCount: 30 } },
    });
    expect(image.status).toBe(201);
    jobId = image.body.job.jobId;

    browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    browser.setDefaultTimeout(UI_TIMEOUT_MS);
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(server.url);
    await page.getByLabel('API token or credentials file').fill(JSON.stringify(admin));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Factories' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const dir of [distDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates groups and puts a programmer into one on the programmers page', async () => {
    await page.getByRole('link', { name: 'Programmers' }).click();
    await page.getByRole('heading', { name: 'Programmers', level: 1 }).waitFor();
    await page.getByLabel('Show factory').selectOption({ label: factoryName });
    const groups = page.getByRole('region', { name: `Groups of ${factoryName}` });
    for (const name of ['Line A', 'Line B']) {
      await groups.getByLabel('New group').fill(name);
      await groups.getByRole('button', { name: 'Create group' }).click();
      await groups.getByRole('button', { name: `Delete group ${name}` }).waitFor();
    }

    await page.getByRole('button', { name: `Edit groups of ${programmerName}` }).click();
    const editor = page.getByRole('group', { name: `Groups of ${programmerName}` });
    await editor.getByRole('checkbox', { name: 'Line A' }).check();
    await expectAccessible(page, "the programmers page with a programmer's group editor open");
    await page.getByRole('button', { name: 'Save groups' }).click();
    // The editor's own checkbox labels say 'Line A' too: only its closing means the PATCH answered.
    await editor.waitFor({ state: 'hidden' });
    const row = page.getByRole('row').filter({ hasText: programmerName });
    await expect.poll(async () => (await row.textContent()) ?? '', { timeout: UI_TIMEOUT_MS }).toContain('Line A');
    const stored = await call('GET', `v1/programmers/${programmerId}`, { token: admin.token });
    const listed = await call('GET', `v1/factories/${factoryId}/groups`, { token: admin.token });
    const lineA = listed.body.items.find((group: { name: string }) => group.name === 'Line A');
    expect(stored.body.programmer.groupIds).toEqual([lineA.groupId]);

    // A group in use stays, and the console shows the API's reason.
    await groups.getByRole('button', { name: 'Delete group Line A' }).click();
    await groups.getByRole('alert').filter({ hasText: 'group_in_use' }).waitFor();
    await expectAccessible(page, 'the programmers page with a refused group deletion');
    await screenshot(page, 'programmers-groups', 'console-programmers-groups');
  });

  it('aims the job at another group on the job page, and the programmer is refused it', async () => {
    await page.goto(`${server.url}#/jobs/${jobId}`);
    const targets = page.getByRole('region', { name: 'Programmers' });
    await targets.getByText('Every programmer of the factory').waitFor();
    await targets.getByRole('button', { name: 'Change targets' }).click();
    await targets.getByRole('checkbox', { name: 'Line B' }).check();
    await expectAccessible(page, "the job page with the targets editor open");
    await targets.getByRole('button', { name: 'Save targets' }).click();
    await targets.getByText('Groups: Line B').waitFor();

    const refused = await call('POST', 'v1/device/authorizations', { token: programmerToken, body: { jobId, units: 1, nonce: randomUUID() } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('not_in_target_group');
    const listed = await call('GET', 'v1/device/jobs', { token: programmerToken });
    expect(listed.body.items.map((job: { jobId: string }) => job.jobId)).not.toContain(jobId);
    await screenshot(page, 'job-targets');
  });

  it("replaces the job's image from a file chosen in the browser, keeping its counters", async () => {
    // Back to the whole factory, so the programmer can take units before the replace.
    expect((await call('PATCH', `v1/jobs/${jobId}`, { token: admin.token, body: { targetGroupIds: null } })).status).toBe(200);
    const grant = await call('POST', 'v1/device/authorizations', { token: programmerToken, body: { jobId, units: 4, nonce: randomUUID() } });
    expect(grant.status).toBe(201);

    await page.reload();
    const replace = page.getByRole('region', { name: /^Image/ });
    await replace.getByText('Replace image', { exact: true }).first().click();
    const bytes = randomBytes(3000);
    await replace.getByLabel('Image file').setInputFiles({ name: 'gate-driver-1.1.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await replace.getByLabel('Name').fill('Gate driver 1.1');
    await expectAccessible(page, 'the replace form');
    await replace.getByRole('button', { name: 'Replace image' }).click();
    await replace.getByRole('status').filter({ hasText: 'Image replaced: now version 2' }).waitFor();

    const { job } = (await call('GET', `v1/jobs/${jobId}`, { token: admin.token })).body;
    expect(job).toMatchObject({ imageVersion: 2, counters: { authorized: 4, remaining: 26 } });
    const image = (await call('GET', `v1/images/${job.imageId}`, { token: admin.token })).body.image;
    expect(image).toMatchObject({ name: 'Gate driver 1.1', sizeBytes: 3000, status: 'registered' });
    await expectAccessible(page, 'the job page after a replace');
    await screenshot(page, 'job-replace', 'console-job-replace');
  });
});
