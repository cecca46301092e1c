import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, uniqueName } from '../support/api.js';

/**
 * The web console in a real headless Chromium (Debian's package; never a downloaded browser),
 * against the stack deployed on the emulator: an operator signs in, watches a job's counters
 * move while a programmer works, pauses it from the actions menu, and opens a "View online"
 * deep link in a fresh tab.
 */
/** Debian's package; FLASHLINE_CHROMIUM points elsewhere (another distribution's path). */
const CHROMIUM = process.env.FLASHLINE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const haveChromium = existsSync(CHROMIUM);
const requireChromium = process.env.FLASHLINE_REQUIRE_BROWSER === '1';
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results/screenshots');
/** Longer than the console's refresh intervals (job 5 s, logs 3 s) with room for a slow emulator. */
const UI_TIMEOUT_MS = 30_000;

if (!haveChromium && !requireChromium) {
  console.warn(`[console e2e] skipped: ${CHROMIUM} is not installed (apt-get install chromium); .ci/run sets FLASHLINE_REQUIRE_BROWSER=1 to make this a failure`);
}

/** Waits, as Playwright's expectations do, until the element shows `expected`. */
async function expectText(locator: Locator, expected: string | RegExp): Promise<void> {
  await expect
    .poll(async () => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '').trim() : undefined), { timeout: UI_TIMEOUT_MS, interval: 250 })
    .toMatch(typeof expected === 'string' ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : expected);
}

/** The cell of `row` under the column header named `column`. */
async function cellOf(table: Locator, row: Locator, column: string): Promise<Locator> {
  await row.waitFor();
  const headers = (await table.getByRole('columnheader').allInnerTexts()).map((text) => text.trim());
  const index = headers.indexOf(column);
  expect(index, `column ${column} in ${headers.join(', ')}`).toBeGreaterThanOrEqual(0);
  return row.getByRole('cell').nth(index);
}

/** The value (<dd>) of the term (<dt>) named `term` in a description list. */
function valueOf(page: Page, term: string): Locator {
  return page.getByRole('term').filter({ hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
}

async function signIn(page: Page, secret: string): Promise<void> {
  await page.getByLabel('API token or credentials file').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe.skipIf(!haveChromium && !requireChromium)(`the web console in Chromium (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let programmerToken: string;
  let programmerName: string;
  let factoryName: string;
  let jobName: string;
  let jobId: string;
  let distDir: string;
  let profileDir: string;
  let server: ConsoleServer;
  let browser: BrowserContext;
  let page: Page;

  const device = (route: string, body: unknown) => call('POST', route, { token: programmerToken, body });

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`FLASHLINE_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install Debian's chromium package`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    distDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-'));
    profileDir = mkdtempSync(path.join(tmpdir(), 'flashline-chromium-'));
    await buildConsole({ outDir: distDir });
    // 4581 is the origin the local stack's CORS allows for this test: the browser calls the API
    // directly, so the preflights and CORS headers are exercised as in AWS.
    server = await startConsoleServer({ apiUrl: inject('apiUrl'), port: 4581, distDir, apiMode: 'direct' });

    admin = await createAccount(uniqueName('Console'));
    factoryName = uniqueName('Console Line');
    const factory = await call('POST', 'v1/factories', { token: admin.token, body: { name: factoryName } });
    expect(factory.status).toBe(201);
    const factoryId = factory.body.factory.factoryId;
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

    browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    browser.setDefaultTimeout(UI_TIMEOUT_MS);
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const dir of [distDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a wrong token with the API's error, then signs in with the credentials file", async () => {
    await page.goto(server.url);
    await signIn(page, 'flk.not-a-real-token');
    await expectText(page.getByRole('alert'), /Could not sign in/);
    await expectText(page.getByRole('alert').locator('.error-code'), 'unauthenticated');

    await signIn(page, JSON.stringify(admin));
    await page.getByRole('heading', { name: 'Factories' }).waitFor();
    await page.getByRole('link', { name: factoryName }).waitFor();
    // The token lives in the tab's session storage, never in the address.
    expect(page.url()).not.toContain(admin.token);
    await screenshot(page, 'factories');
  });

  it("lists the factory's job and updates its counters while a programmer works", async () => {
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
    await screenshot(page, 'factory-jobs');
  });

  it('pauses the job from its actions menu, after a confirmation, and the programmer is refused', async () => {
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

    await page.getByRole('button', { name: 'Actions' }).click();
    await expect.poll(() => page.getByRole('menuitem', { name: 'Resume' }).isDisabled()).toBe(true);
    await page.getByRole('menuitem', { name: 'Pause' }).click();
    const dialog = page.getByRole('dialog', { name: 'Pause this job?' });
    await dialog.waitFor();
    // Cancelling changes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await call('GET', `v1/jobs/${jobId}`, { token: admin.token })).body.job.status).toBe('active');

    await page.getByRole('button', { name: 'Actions' }).click();
    await page.getByRole('menuitem', { name: 'Pause' }).click();
    await dialog.getByRole('button', { name: 'Pause job' }).click();
    await page.getByRole('status').filter({ hasText: 'Job paused.' }).waitFor();
    await expectText(page.getByRole('heading', { level: 1 }).locator('.status'), 'paused');

    const refused = await device('v1/device/authorizations', { jobId, units: 1, nonce: randomUUID() });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('job_paused');
    await screenshot(page, 'job');
  });

  it('shows the programmers with their factory and status, and the audit trail of the pause', async () => {
    await page.getByRole('link', { name: 'Programmers' }).click();
    await page.getByRole('heading', { name: 'Programmers' }).waitFor();
    const table = page.getByRole('table', { name: 'Programmers' });
    const row = table.getByRole('row').filter({ hasText: programmerName });
    await expectText(await cellOf(table, row, 'Status'), 'active');
    await expectText(await cellOf(table, row, 'Factory'), factoryName);
    await screenshot(page, 'programmers');

    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByRole('heading', { name: 'Audit trail' }).waitFor();
    await page.getByRole('table', { name: /Audit trail/ }).getByRole('row').filter({ hasText: jobId }).filter({ hasText: 'job.pause' }).waitFor();
    await screenshot(page, 'audit');
  });

  it('opens a "View online" deep link in a fresh tab: sign in there, land on the job, see its logs', async () => {
    const fresh = await browser.newPage();
    await fresh.goto(`${server.url}#/jobs/${jobId}`);
    // Session storage belongs to one tab: the new tab asks for the token again and keeps the link.
    await signIn(fresh, admin.token);
    await fresh.getByRole('heading', { name: jobName }).waitFor();
    expect(new URL(fresh.url()).hash).toBe(`#/jobs/${jobId}`);
    await expectText(fresh.getByRole('log'), /programmed MC-000001 in 1\.8 s/);
    await expectText(fresh.getByRole('heading', { level: 1 }).locator('.status'), 'paused');
    await fresh.close();
  });

  it('shows late and out-of-order log lines exactly once in the live log view, with their device times', async () => {
    await page.goto(`${server.url}#/jobs/${jobId}`);
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
    await screenshot(page, 'late-log-lines');
  });
});
