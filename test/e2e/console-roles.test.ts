import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { expectAccessible, screenshot, signInWithToken } from '../support/browser.js';
import { CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, haveChromium, requireChromium } from '../support/chromium.js';

/**
 * The console is role-aware (issue 11): an admin creates a key limited to one factory on the
 * API keys page (the credentials file shown once), revokes another; whoever signs in with the
 * new operator key sees only that factory, is offered pause/resume/restart but not delete, no
 * keys or audit pages, and another factory's job deep link answers not_found.
 */
const UI_TIMEOUT_MS = 30_000;


describe.skipIf(!haveChromium && !requireChromium)(`the role-aware console in Chromium (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let lineA: { factoryId: string; name: string };
  let lineB: { factoryId: string; name: string };
  let jobA: string;
  let jobB: string;
  let oldKeyName: string;
  let programmerA: string;
  let operator: CredentialsFileType;
  let distDir: string;
  let profileDir: string;
  let server: ConsoleServer;
  let browser: BrowserContext;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`FLASHLINE_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install Debian's chromium package`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    distDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-'));
    profileDir = mkdtempSync(path.join(tmpdir(), 'flashline-chromium-'));
    await buildConsole({ outDir: distDir });
    // A free port, the API forwarded by the console server: engineers' browser tests run side by side.
    server = await startConsoleServer({ apiUrl: inject('apiUrl'), port: 0, distDir, apiMode: 'proxy' });

    admin = await createAccount(uniqueName('Console roles'));
    const factory = async (label: string) => {
      const name = uniqueName(label);
      const response = await call('POST', 'v1/factories', { token: admin.token, body: { name } });
      expect(response.status).toBe(201);
      return { factoryId: response.body.factory.factoryId as string, name };
    };
    [lineA, lineB] = [await factory('Line A'), await factory('Line B')];
    const job = async (factoryId: string) => {
      const response = await call('POST', 'v1/images', { token: admin.token, body: { name: uniqueName('Board'), factoryId, contentSha256: 'ef'.repeat(32), sizeBytes: 1024, delivery: 'direct' } });
      expect(response.status).toBe(201);
      return response.body.job.jobId as string;
    };
    [jobA, jobB] = [await job(lineA.factoryId), await job(lineB.factoryId)];
    programmerA = uniqueName('Bench A');
    expect((await call('POST', 'v1/programmers', { token: admin.token, body: { name: programmerA, hardwareSerial: uniqueName('HW'), factoryId: lineA.factoryId } })).status).toBe(201);
    oldKeyName = uniqueName('Old script');
    expect((await call('POST', 'v1/api-keys', { token: admin.token, body: { name: oldKeyName, role: 'viewer' } })).status).toBe(201);

    browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    browser.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const dir of [distDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lets an admin create an operator key limited to line A, shown once, and revoke an old key', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(server.url);
    await signInWithToken(page, JSON.stringify(admin));
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Name').fill('Line A operator');
    await form.getByLabel('Role').selectOption('operator');
    await form.getByLabel('Only these:').check();
    // Keyboard: the factory's checkbox is reached and ticked without a mouse.
    await form.getByRole('checkbox', { name: lineA.name }).focus();
    await page.keyboard.press('Space');
    await form.getByRole('button', { name: 'Create key' }).click();

    const file = page.getByLabel('Credentials file');
    await file.waitFor();
    operator = JSON.parse(await file.inputValue()) as CredentialsFileType;
    expect(operator).toMatchObject({ role: 'operator', factoryIds: [lineA.factoryId], accountId: admin.accountId });
    await expectAccessible(page, 'the new key shown once');
    await screenshot(page, 'api-keys-created');
    // Signing out before the download asks first; staying keeps the token on screen.
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain('The token of Line A operator is not downloaded yet');
    await file.waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await file.waitFor({ state: 'hidden' });

    const table = page.getByRole('table', { name: 'API keys' });
    const row = table.getByRole('row').filter({ hasText: 'Line A operator' });
    await row.filter({ hasText: lineA.name }).filter({ hasText: 'operator' }).waitFor();

    await page.getByRole('button', { name: `Revoke ${oldKeyName}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
    await dialog.waitFor();
    await expectAccessible(page, 'the revoke confirmation');
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByRole('status').filter({ hasText: `Revoked ${oldKeyName}` }).waitFor();
    await table.getByRole('row').filter({ hasText: oldKeyName }).filter({ hasText: 'revoked' }).waitFor();
    const keys = (await call('GET', 'v1/api-keys', { token: admin.token })).body.items as { name: string; status: string }[];
    expect(keys.find((key) => key.name === oldKeyName)?.status).toBe('revoked');
    await expectAccessible(page, 'the API keys page');
    await screenshot(page, 'api-keys', 'console-api-keys');
  });

  it('shows the operator only line A, offers pause but not delete, and no keys or audit pages', async () => {
    // A new tab is a new session (the token lives in the tab's sessionStorage).
    const page = await browser.newPage();
    await page.goto(server.url);
    await signInWithToken(page, operator.token);
    await page.getByRole('heading', { name: 'Factories' }).waitFor();
    await page.getByRole('link', { name: lineA.name }).waitFor();
    expect(await page.getByRole('link', { name: lineB.name }).count()).toBe(0);
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    expect(await nav.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
    await page.getByText('operator · 1 factory').waitFor();

    await page.goto(`${server.url}#/jobs/${jobA}`);
    await page.getByRole('button', { name: 'Actions' }).click();
    const items = (await page.getByRole('menuitem').allInnerTexts()).map((text) => text.trim());
    expect(items).toEqual(['Pause', 'Resume', 'Restart']);
    await page.getByRole('menuitem', { name: 'Pause' }).click();
    await page.getByRole('dialog', { name: 'Pause this job?' }).getByRole('button', { name: 'Pause job' }).click();
    await page.getByRole('status').filter({ hasText: 'Job paused.' }).waitFor();
    expect((await call('GET', `v1/jobs/${jobA}`, { token: admin.token })).body.job.status).toBe('paused');
    await expectAccessible(page, 'the job page of an operator');
    await screenshot(page, 'operator-job');

    await page.goto(`${server.url}#/jobs/${jobB}`);
    await page.getByRole('alert').filter({ hasText: 'not_found' }).waitFor();
    expect(await page.getByRole('button', { name: 'Actions' }).count()).toBe(0);

    // The API keys page itself says who may use it, should an operator open its link.
    await page.goto(`${server.url}#/api-keys`);
    await page.getByText('Only an admin manages API keys; you are signed in as operator.').waitFor();
    await page.close();
  });

  /** The write controls of Programmers, Factories and a job page: an admin gets them all, an operator none (the API would answer 403). */
  const writeControls = async (page: Page, as: 'admin' | 'operator') => {
    const present = async (locator: Locator) => (as === 'admin' ? locator.first().waitFor() : expect(await locator.count(), `${locator}`).toBe(0));
    await page.goto(`${server.url}#/programmers`);
    await page.getByRole('heading', { name: 'Provisioned programmers' }).waitFor();
    await page.getByRole('row').filter({ hasText: programmerA }).waitFor();
    await present(page.getByRole('heading', { name: 'Provision a programmer' }));
    for (const verb of ['Move', 'Disable', 'Deprovision', 'Edit groups of']) await present(page.getByRole('button', { name: `${verb} ${programmerA}` }));
    await page.getByLabel('Show factory').selectOption(lineA.factoryId);
    await present(page.getByRole('button', { name: 'Create group' }));
    if (as === 'operator') await page.getByText('Only an admin provisions, moves, disables and deprovisions programmers; you are signed in as operator.').waitFor();

    await page.goto(`${server.url}#/factories`);
    await page.getByRole('link', { name: lineA.name }).waitFor();
    await present(page.getByRole('button', { name: 'Create factory' }));
    await present(page.getByRole('button', { name: `Rename ${lineA.name}` }));
    await present(page.getByRole('button', { name: `Delete ${lineA.name}` }));
    if (as === 'operator') expect(await page.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0);

    await page.goto(`${server.url}#/factories/${lineA.factoryId}`);
    await page.getByRole('heading', { name: lineA.name, level: 1 }).waitFor();
    await present(page.getByRole('link', { name: 'Publish an image' }));

    await page.goto(`${server.url}#/jobs/${jobA}`);
    await page.getByRole('heading', { name: 'Counters' }).waitFor();
    await page.getByTestId('job-targets').waitFor();
    await present(page.getByRole('button', { name: 'Edit restrictions' }));
    await present(page.getByRole('button', { name: 'Change targets' }));
    await present(page.getByText('Replace image', { exact: true }));
  };

  /** A new tab signed in with `token`, on the dashboard. */
  const signedIn = async (token: string) => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await signInWithToken(page, token);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    return page;
  };

  it('offers an admin every write control of Programmers, Factories and the job page', async () => {
    const page = await signedIn(admin.token);
    await writeControls(page, 'admin');
    await page.close();
  });

  it('offers an operator of line A none of them, and says the audit trail is for admins', async () => {
    const page = await signedIn(operator.token);
    await writeControls(page, 'operator');
    await expectAccessible(page, 'the job page without write controls');

    await page.goto(`${server.url}#/audit`);
    await page.getByText('Only an admin reads the audit trail; you are signed in as operator.').waitFor();
    expect(await page.getByRole('search').count()).toBe(0);
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.goto(`${server.url}#/factories/${lineA.factoryId}/publish`);
    await page.getByText('Only an author or admin publishes images; you are signed in as operator.').waitFor();
    await page.close();
  });

  it('offers a viewer no job actions at all', async () => {
    const viewer = await call('POST', 'v1/api-keys', { token: admin.token, body: { name: uniqueName('Viewer'), role: 'viewer', factoryIds: [lineA.factoryId] } });
    const page = await browser.newPage();
    await page.goto(`${server.url}#/jobs/${jobA}`);
    await signInWithToken(page, viewer.body.credentials.token);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'Board' }).waitFor();
    expect(await page.getByRole('button', { name: 'Actions' }).count()).toBe(0);
    await page.close();
  });
});
