import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { EVENT_TYPES } from '../../shared/domain/events.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { UI_TIMEOUT_MS, cellOf, expectAccessible, pressByKeyboard, screenshot, signInWithToken, valueOf } from '../support/browser.js';
import { CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, haveChromium, requireChromium } from '../support/chromium.js';
import { Receiver } from '../support/webhook-receiver.js';

/**
 * The console's Webhooks page (issue 10 item 6), in Debian's Chromium against the deployed stack:
 * an admin sees a refused URL named by the API, adds a webhook for every event pointing at a
 * local receiver, copies its secret (shown once), sends a test event from the page that the
 * receiver verifies with that secret, watches the delivery listed, and deletes the webhook
 * through the confirmation dialog by keyboard; operators and viewers get no Webhooks link. The
 * console server proxies the API on a free port, so this file competes for no CORS-allowed port.
 */
describe.skipIf(!haveChromium && !requireChromium)(`webhooks in the console (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let distDir: string;
  let profileDir: string;
  let server: ConsoleServer;
  let browser: BrowserContext;
  let page: Page;
  const receiver = new Receiver();
  let receiverUrl: string;
  let secret: string;
  let webhookId: string;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`FLASHLINE_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install Debian's chromium package`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    distDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-webhooks-'));
    profileDir = mkdtempSync(path.join(tmpdir(), 'flashline-chromium-webhooks-'));
    await buildConsole({ outDir: distDir });
    server = await startConsoleServer({ apiUrl: inject('apiUrl'), port: 0, distDir, apiMode: 'proxy' });
    admin = await createAccount(uniqueName('Console webhooks'));
    receiverUrl = await receiver.start();

    browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    browser.setDefaultTimeout(UI_TIMEOUT_MS);
    // The page's "Copy secret" writes the clipboard; the test reads it back.
    await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(server.url);
    await signInWithToken(page, JSON.stringify(admin));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver.stop();
    for (const dir of [distDir, profileDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the field of a refused URL, then adds a webhook for all events and shows its secret once', async () => {
    await pressByKeyboard(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }));
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();
    await expectAccessible(page, 'the webhooks page without webhooks');

    const form = page.getByRole('form', { name: 'Add a webhook' });
    const add = form.getByRole('button', { name: 'Add webhook' });
    expect(await add.isDisabled()).toBe(true);
    await form.getByLabel('Receiver URL').fill('http://example.com/hook');
    await form.getByRole('checkbox', { name: 'job.paused' }).check();
    await add.click();
    const refusal = form.getByRole('alert');
    await refusal.filter({ hasText: 'invalid_request' }).filter({ hasText: 'must be an https URL' }).waitFor();
    expect(await refusal.locator('li code').first().textContent()).toBe('url');
    expect((await call('GET', 'v1/webhooks', { token: admin.token })).body.items).toEqual([]);
    await expectAccessible(page, 'the add form with a refused URL');

    // Another webhook, added by a script meanwhile: the list shows a partial subscription too.
    const other = await call('POST', 'v1/webhooks', { token: admin.token, body: { url: 'https://mes.example.com/flashline', events: ['job.paused', 'job.completed'] } });
    expect(other.status).toBe(201);

    await form.getByLabel('Receiver URL').fill(receiverUrl);
    await form.getByRole('checkbox', { name: 'All events' }).check();
    for (const type of EVENT_TYPES) expect(await form.getByRole('checkbox', { name: type, exact: true }).isChecked(), type).toBe(true);
    await pressByKeyboard(page, add);

    const shown = valueOf(page, 'Signing secret');
    await shown.waitFor();
    secret = ((await shown.textContent()) ?? '').trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    await page.getByText('shown only now').waitFor();
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await expectAccessible(page, 'the signing secret shown once');

    const listed = await call('GET', 'v1/webhooks', { token: admin.token });
    const mine = (listed.body.items as { webhookId: string; url: string; events: string[] }[]).find((webhook) => webhook.url === receiverUrl);
    expect(mine?.events).toEqual([...EVENT_TYPES]);
    webhookId = mine!.webhookId;

    await page.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(secret.slice('whsec_'.length));
    const table = page.getByRole('table', { name: 'Webhooks' });
    await cellOf(table, table.getByRole('row').filter({ hasText: receiverUrl }), 'Events').then((cell) => cell.filter({ hasText: `All events (${EVENT_TYPES.length})` }).waitFor());
    await table.getByRole('row').filter({ hasText: 'https://mes.example.com/flashline' }).filter({ hasText: 'job.paused, job.completed' }).waitFor();
  });

  it('sends a test event the receiver verifies with that secret, and lists its delivery', async () => {
    await page.getByRole('button', { name: `Send test event to ${receiverUrl}` }).click();
    await page.getByRole('status').filter({ hasText: 'Sent a webhook.test event' }).waitFor();
    const received = await receiver.next((event) => event.type === 'webhook.test' && event.data.webhookId === webhookId);
    expect(new Webhook(secret).verify(received.body, received.headers as Record<string, string>)).toMatchObject({ type: 'webhook.test', data: { webhookId } });

    const deliveries = page.getByRole('region', { name: `Deliveries to ${receiverUrl}` });
    const table = deliveries.getByRole('table', { name: 'Deliveries, newest event first' });
    const row = table.getByRole('row').filter({ hasText: String(received.headers['webhook-id']) });
    // The worker records the attempt after the receiver answered: Refresh until the page shows it.
    await expect
      .poll(
        async () => {
          await deliveries.getByRole('button', { name: 'Refresh' }).click();
          return (await row.count()) > 0 ? (await row.innerText()).replace(/\s+/g, ' ') : '';
        },
        { timeout: UI_TIMEOUT_MS, interval: 500 },
      )
      .toMatch(/webhook\.test delivered 1 HTTP 204/);
    expect((await (await cellOf(table, row, 'Attempts')).innerText()).trim()).toBe('1');
    await expectAccessible(page, 'the deliveries of a webhook');
    await screenshot(page, 'webhooks', 'console-webhooks');
  });

  it('deletes the webhook through the confirmation dialog, by keyboard', async () => {
    await pressByKeyboard(page, page.getByRole('button', { name: `Delete ${receiverUrl}` }));
    const dialog = page.getByRole('dialog', { name: 'Delete this webhook?' });
    await dialog.waitFor();
    await expectAccessible(page, 'the delete confirmation');
    await pressByKeyboard(page, dialog.getByRole('button', { name: 'Delete webhook' }), 'Enter', 10);
    await page.getByRole('status').filter({ hasText: `Deleted the webhook to ${receiverUrl}` }).waitFor();
    await dialog.waitFor({ state: 'detached' });
    const table = page.getByRole('table', { name: 'Webhooks' });
    // The list is read again after the deletion: the row goes once that answer is in.
    await table.getByRole('row').filter({ hasText: receiverUrl }).waitFor({ state: 'detached' });
    await table.getByRole('row').filter({ hasText: 'https://mes.example.com/flashline' }).waitFor();
    expect(await page.getByRole('region', { name: `Deliveries to ${receiverUrl}` }).count()).toBe(0);
    expect((await call('GET', `v1/webhooks/${webhookId}`, { token: admin.token })).status).toBe(404);
    await expectAccessible(page, 'the webhooks page after a deletion');
  });

  it('gives operators and viewers no Webhooks link, and says who may use the page', async () => {
    for (const role of ['operator', 'viewer'] as const) {
      const key = await call('POST', 'v1/api-keys', { token: admin.token, body: { name: uniqueName(`Webhooks ${role}`), role } });
      expect(key.status).toBe(201);
      const other = await browser.newPage();
      await other.goto(server.url);
      await signInWithToken(other, key.body.credentials.token);
      const nav = other.getByRole('navigation', { name: 'Main' });
      await nav.getByRole('link', { name: 'Factories' }).waitFor();
      expect(await nav.getByRole('link', { name: 'Webhooks' }).count(), role).toBe(0);
      await other.goto(`${server.url}#/webhooks`);
      await other.getByText(`Only an admin manages webhooks; you are signed in as ${role}.`).waitFor();
      await expectAccessible(other, `the webhooks page of a ${role}`);
      await other.close();
    }
  });
});
