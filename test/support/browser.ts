import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';
import { expect, inject } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { BROWSER_TEST_CONSOLE_PORTS } from '../../infra/local-console-origins.js';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';
import { CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, haveChromium, requireChromium } from './chromium.js';

/**
 * What every browser test of the console shares: Debian's headless Chromium (never a
 * downloaded browser), the built console served on an origin the local stack's CORS allows,
 * waiting helpers, screenshots, keyboard reachability and the axe-core check each page gets.
 */

export { CHROMIUM, haveChromium, requireChromium };
/** Longer than the console's refresh intervals (job 5 s, logs 3 s) with room for a slow emulator. */
export const UI_TIMEOUT_MS = 30_000;
/** The README tour's pictures: written only when asked (FLASHLINE_DOCS_SCREENSHOTS=1), so test runs leave docs/ alone. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const writeDocsScreenshots = process.env.FLASHLINE_DOCS_SCREENSHOTS === '1';

export function warnWithoutChromium(file: string): void {
  if (!haveChromium && !requireChromium) {
    console.warn(`[${file}] skipped: ${CHROMIUM} is not installed (apt-get install chromium); .ci/run sets FLASHLINE_REQUIRE_BROWSER=1 to make this a failure`);
  }
}

export interface ConsoleBrowser {
  server: ConsoleServer;
  browser: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * Builds the console, serves it on the first free port of BROWSER_TEST_CONSOLE_PORTS (origins
 * the local stack's CORS allows: the browser calls the API and uploads to S3 directly, with real
 * preflights, as in AWS) and opens Chromium on it.
 */
export async function openConsole(): Promise<ConsoleBrowser> {
  if (!haveChromium) throw new Error(`FLASHLINE_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install Debian's chromium package`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const distDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-'));
  const profileDir = mkdtempSync(path.join(tmpdir(), 'flashline-chromium-'));
  await buildConsole({ outDir: distDir });
  let server: ConsoleServer | undefined;
  for (const port of BROWSER_TEST_CONSOLE_PORTS) {
    try {
      server = await startConsoleServer({ apiUrl: inject('apiUrl'), port, distDir, apiMode: 'direct' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  if (!server) throw new Error(`every browser-test console port is taken (${BROWSER_TEST_CONSOLE_PORTS.join(', ')})`);
  const browser = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  browser.setDefaultTimeout(UI_TIMEOUT_MS);
  const page = browser.pages()[0] ?? (await browser.newPage());
  const opened = server;
  return {
    server: opened,
    browser,
    page,
    close: async () => {
      await browser.close();
      await opened.close();
      for (const dir of [distDir, profileDir]) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits, as Playwright's expectations do, until the element shows `expected`. */
export async function expectText(locator: Locator, expected: string | RegExp): Promise<void> {
  await expect
    .poll(async () => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '').trim() : undefined), { timeout: UI_TIMEOUT_MS, interval: 250 })
    .toMatch(typeof expected === 'string' ? new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : expected);
}

/** The cell of `row` under the column header named `column`. */
export async function cellOf(table: Locator, row: Locator, column: string): Promise<Locator> {
  await row.waitFor();
  const headers = (await table.getByRole('columnheader').allInnerTexts()).map((text) => text.trim());
  const index = headers.indexOf(column);
  expect(index, `column ${column} in ${headers.join(', ')}`).toBeGreaterThanOrEqual(0);
  return row.getByRole('cell').nth(index);
}

/** The value (<dd>) of the term (<dt>) named `term` in a description list. */
export function valueOf(scope: Page | Locator, term: string): Locator {
  return scope.getByRole('term').filter({ hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
}

/** `name` goes to test-results/screenshots; `docsName` also to docs/ when FLASHLINE_DOCS_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string, docsName?: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
  if (docsName && writeDocsScreenshots) await page.screenshot({ path: path.join(DOCS, `${docsName}.png`), fullPage: true });
}

export async function signInWithToken(page: Page, secret: string): Promise<void> {
  await page.getByLabel('API token or credentials file').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Serious and critical only: moderate findings (e.g. best-practice landmarks) are advice. */
const BLOCKING_IMPACTS = new Set(['serious', 'critical']);

/**
 * Runs axe-core on the page as it is now (dialogs open included) and fails on any serious or
 * critical violation, naming each rule, its help and the offending elements.
 */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const blocking = results.violations.filter((violation) => BLOCKING_IMPACTS.has(violation.impact ?? ''));
  const report = blocking.map((violation) => `${violation.impact} ${violation.id} (${violation.help}) ×${violation.nodes.length}: ${violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join('; ')}`);
  if (report.length > 0) throw new Error(`axe found ${report.length} serious or critical violation(s) on ${what}:\n${report.join('\n')}`);
}

/**
 * Proves `target` is reachable by keyboard: presses Tab (from wherever focus is) until it has
 * focus, then `key` (Enter by default; null: only focus it). Fails when it is not in the tab order.
 */
export async function pressByKeyboard(page: Page, target: Locator, key: string | null = 'Enter', maxTabs = 200): Promise<void> {
  await target.waitFor();
  for (let presses = 0; presses < maxTabs; presses++) {
    if (await target.evaluate((element) => element === document.activeElement)) {
      if (key) await page.keyboard.press(key);
      return;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`not reachable with Tab within ${maxTabs} presses: ${target}`);
}
