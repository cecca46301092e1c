import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { expectAccessible, screenshot } from '../support/browser.js';
import { CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, haveChromium, requireChromium } from '../support/chromium.js';

/**
 * People in the console, in a real headless Chromium against the deployed stack: an admin
 * invites a person as operator of factory A on the People page, the person signs in through the
 * real Cognito flow (the emulator's Hosted UI: sign-in form, first-sign-in password change, code
 * + PKCE back to the console), sees A's jobs and pauses one, sees nothing of factory B (UI and
 * API 404) and cannot register an image, then signs out.
 */
const UI_TIMEOUT_MS = 30_000;
/** The people test's own console origin (infra/app.ts LOCAL_CONSOLE_ORIGINS): a callback URL of the pool's client. */
const CONSOLE_PORT = 4582;
const NEW_PASSWORD = 'Operator-console-1!';

describe.skipIf(!haveChromium && !requireChromium)(`people in the web console (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let factoryA: { factoryId: string; name: string };
  let factoryB: { factoryId: string; name: string };
  let jobA: { jobId: string; name: string };
  let jobB: { jobId: string; name: string };
  let distDir: string;
  let server: ConsoleServer;
  let browser: Browser;
  let operatorEmail: string;
  let temporaryPassword: string;
  let operatorPage: Page;

  async function factory(name: string) {
    const response = await call('POST', 'v1/factories', { token: admin.token, body: { name } });
    expect(response.status).toBe(201);
    return { factoryId: response.body.factory.factoryId as string, name };
  }

  async function job(factoryId: string, name: string) {
    const response = await call('POST', 'v1/images', { token: admin.token, body: { name, factoryId, contentSha256: 'cd'.repeat(32), sizeBytes: 2048, delivery: 'direct', restrictions: { maxCount: 10 } } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return { jobId: response.body.job.jobId as string, name };
  }

  /** The access token the console holds (sessionStorage of the tab): the API must treat it exactly as the UI does. */
  async function operatorToken(): Promise<string> {
    const stored = await operatorPage.evaluate(() => sessionStorage.getItem('flashline.session'));
    return (JSON.parse(stored!) as { token: string }).token;
  }

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`FLASHLINE_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing`);
    expect(inject('peopleClientId'), 'the local stack deploys the user pool').not.toBe('');
    mkdirSync(SCREENSHOTS, { recursive: true });
    distDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-people-'));
    await buildConsole({ outDir: distDir });
    server = await startConsoleServer({
      apiUrl: inject('apiUrl'),
      port: CONSOLE_PORT,
      distDir,
      apiMode: 'direct',
      people: { clientId: inject('peopleClientId'), signInUrl: inject('peopleSignInUrl') },
    });
    admin = await createAccount(uniqueName('Console people'));
    factoryA = await factory(uniqueName('Line A'));
    factoryB = await factory(uniqueName('Line B'));
    jobA = await job(factoryA.factoryId, uniqueName('Job of A'));
    jobB = await job(factoryB.factoryId, uniqueName('Job of B'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (distDir) rmSync(distDir, { recursive: true, force: true });
  });

  it('lets an admin invite a person as operator of factory A on the People page, showing the temporary password once', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.getByLabel('API token or credentials file').fill(JSON.stringify(admin));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('link', { name: 'People' }).click();
    await page.getByRole('heading', { name: 'Invite a person' }).waitFor();
    await page.getByText('Nobody is invited yet.').waitFor();
    await expectAccessible(page, 'the people page, empty');

    operatorEmail = `operator-${Date.now().toString(36)}@example.com`;
    await page.getByLabel('Email').fill(operatorEmail);
    await page.getByLabel('Role').selectOption('operator');
    await page.getByLabel(factoryA.name).check();
    await page.getByRole('button', { name: 'Invite' }).click();
    const notice = page.getByRole('status').filter({ hasText: 'is invited' });
    temporaryPassword = (await notice.locator('code').textContent())!.trim();
    expect(temporaryPassword).toMatch(/^\S{16}$/);
    const row = page.getByRole('row').filter({ hasText: operatorEmail });
    await expect.poll(() => row.textContent()).toContain(factoryA.name);
    expect(await row.getByRole('combobox').inputValue()).toBe('operator');
    await expectAccessible(page, 'the people page with the temporary password shown');
    await screenshot(page, 'people', 'console-people');
    await context.close();
  });

  it('signs the person in through the Hosted UI (first sign-in sets their password) and back to the console, with no token in the URL', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    operatorPage = await context.newPage();
    const visited: string[] = [];
    operatorPage.on('framenavigated', (frame) => visited.push(frame.url()));
    await operatorPage.goto(server.url);
    await operatorPage.getByRole('button', { name: 'Sign in with email' }).click();
    // The emulator's Hosted UI (AWS's managed login has other markup; the flow is the same).
    await operatorPage.getByLabel('Username').fill(operatorEmail);
    await operatorPage.getByLabel('Password').fill(temporaryPassword);
    await operatorPage.getByRole('button', { name: 'Sign in' }).click();
    await operatorPage.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await operatorPage.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await operatorPage.getByRole('button', { name: 'Update password' }).click();

    await operatorPage.getByRole('heading', { name: 'Factories' }).waitFor();
    await expect.poll(() => operatorPage.locator('.who').textContent()).toContain(operatorEmail);
    expect(await operatorPage.locator('.who .tag').textContent()).toBe('operator · 1 factory');
    // The code came back in the query and is gone from the address bar; no token was ever in a URL, nor in localStorage.
    expect(new URL(operatorPage.url()).search).toBe('');
    const token = await operatorToken();
    expect(visited.some((url) => url.includes(token))).toBe(false);
    expect(await operatorPage.evaluate(() => localStorage.length)).toBe(0);
    await expectAccessible(operatorPage, 'the factories page of a signed-in person');
    // Operators do not manage people.
    expect(await operatorPage.getByRole('link', { name: 'People' }).count()).toBe(0);
    const me = await call('GET', 'v1/account', { token });
    expect(me.body.caller).toMatchObject({ via: 'person', email: operatorEmail, role: 'operator', factoryIds: [factoryA.factoryId] });
  });

  it('cannot register an image (author and up)', async () => {
    const refused = await call('POST', 'v1/images', { token: await operatorToken(), body: { name: 'Not allowed', factoryId: factoryA.factoryId, contentSha256: 'ef'.repeat(32), sizeBytes: 10, delivery: 'direct' } });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
  });

  it("sees A's jobs and pauses one, and nothing of factory B (UI and API 404)", async () => {
    const token = await operatorToken();
    await operatorPage.goto(`${server.url}#/factories`);
    await operatorPage.getByRole('link', { name: factoryA.name }).waitFor();
    expect(await operatorPage.getByRole('link', { name: factoryB.name }).count()).toBe(0);

    await operatorPage.getByRole('link', { name: factoryA.name }).click();
    await operatorPage.getByRole('link', { name: jobA.name }).click();
    await operatorPage.getByRole('button', { name: 'Actions' }).click();
    await operatorPage.getByRole('menuitem', { name: 'Pause' }).click();
    await operatorPage.getByRole('dialog', { name: 'Pause this job?' }).getByRole('button', { name: 'Pause job' }).click();
    await expect.poll(async () => (await call('GET', `v1/jobs/${jobA.jobId}`, { token })).body.job?.status, { timeout: UI_TIMEOUT_MS }).toBe('paused');

    await operatorPage.goto(`${server.url}#/jobs/${jobB.jobId}`);
    await operatorPage.getByRole('alert').filter({ hasText: 'not_found' }).waitFor();
    expect((await call('GET', `v1/jobs/${jobB.jobId}`, { token })).status).toBe(404);
    expect((await call('GET', `v1/factories/${factoryB.factoryId}`, { token })).status).toBe(404);
  });

  it('signs out: the tokens are forgotten and the sign-in page is back', async () => {
    await operatorPage.goto(`${server.url}#/factories`);
    await operatorPage.getByRole('button', { name: 'Sign out' }).click();
    await operatorPage.getByRole('button', { name: 'Sign in with email' }).waitFor();
    expect(await operatorPage.evaluate(() => sessionStorage.getItem('flashline.session'))).toBeNull();
    await operatorPage.context().close();
  });
});
