import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialsFileType } from '../../shared/contract/index.js';
import { call, createAccount, uniqueName } from '../support/api.js';
import { CHROMIUM, type ConsoleBrowser, expectAccessible, haveChromium, openConsole, requireChromium, screenshot, signInWithToken, warnWithoutChromium } from '../support/browser.js';

warnWithoutChromium('console-narrow');

/**
 * The console on a phone (390 × 844): wide tables scroll inside their own box and the header
 * stays short, so no page scrolls sideways as a whole.
 */
const PHONE = { width: 390, height: 844 };

describe.skipIf(!haveChromium && !requireChromium)(`the console at 390 px wide in Chromium (needs ${CHROMIUM})`, () => {
  let admin: CredentialsFileType;
  let factoryId: string;
  let jobId: string;
  let console_: ConsoleBrowser;

  beforeAll(async () => {
    console_ = await openConsole();
    admin = await createAccount(uniqueName('Console narrow'));
    const factory = await call('POST', 'v1/factories', { token: admin.token, body: { name: uniqueName('Assembly line with a long name') } });
    expect(factory.status).toBe(201);
    factoryId = factory.body.factory.factoryId as string;
    const image = await call('POST', 'v1/images', { token: admin.token, body: { name: uniqueName('Sensor board firmware'), factoryId, contentSha256: 'ab'.repeat(32), sizeBytes: 2048, delivery: 'direct' } });
    expect(image.status).toBe(201);
    jobId = image.body.job.jobId as string;
    expect((await call('POST', 'v1/programmers', { token: admin.token, body: { name: uniqueName('Bench programmer'), hardwareSerial: uniqueName('HW-SERIAL'), factoryId } })).status).toBe(201);
    expect((await call('POST', 'v1/api-keys', { token: admin.token, body: { name: uniqueName('CI script'), role: 'operator', factoryIds: [factoryId] } })).status).toBe(201);
    expect((await call('POST', 'v1/webhooks', { token: admin.token, body: { url: 'https://mes.example.com/flashline/hooks/production-line', events: ['job.paused', 'job.completed'] } })).status).toBe(201);

    await console_.page.setViewportSize(PHONE);
  });

  afterAll(async () => {
    await console_?.close();
  });

  it('scrolls no page sideways; each table scrolls in its own named, focusable box', async () => {
    const { page, server } = console_;
    await page.goto(server.url);
    await signInWithToken(page, admin.token);
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    // The header (brand, who, nav in one row) must not take a quarter of the screen.
    expect((await page.locator('header.top').boundingBox())!.height).toBeLessThan(110);

    const pages: { hash: string; table: string }[] = [
      { hash: '#/', table: 'Yield and programmers per factory' },
      { hash: '#/factories', table: 'Virtual Factories of this account' },
      { hash: `#/factories/${factoryId}`, table: 'Jobs of this factory' },
      { hash: '#/programmers', table: 'Programmers' },
      { hash: `#/jobs/${jobId}`, table: '' },
      { hash: '#/audit', table: 'Audit trail' },
      { hash: '#/api-keys', table: 'API keys' },
      { hash: '#/webhooks', table: 'Webhooks' },
    ];
    for (const { hash, table } of pages) {
      await page.goto(`${server.url}${hash}`);
      if (table) {
        const shown = page.getByRole('table', { name: table });
        await shown.waitFor();
        const box = shown.locator('xpath=ancestor::div[contains(@class, "table-scroll")][1]');
        expect(await box.getAttribute('tabindex'), hash).toBe('0');
        expect(await box.getAttribute('aria-label'), hash).toBeTruthy();
      } else {
        await page.getByRole('heading', { name: 'Counters' }).waitFor();
      }
      // On failure, the message names the outermost elements that stick out past the right edge.
      const widths = await page.evaluate(() => {
        const viewport = window.innerWidth;
        const wide = Array.from(document.querySelectorAll('body *'))
          .filter((element) => element.getBoundingClientRect().right > viewport + 0.5 && (!element.closest('.table-scroll, header.top nav') || getComputedStyle(element).position === 'absolute'))
          .filter((element, _, all) => !all.includes(element.parentElement!))
          .slice(0, 5)
          .map((element) => `${element.tagName.toLowerCase()}.${element.className} (${Math.round(element.getBoundingClientRect().right)} px)`);
        return { scroll: document.documentElement.scrollWidth, viewport, wide };
      });
      expect(widths.scroll, `${hash} is ${widths.scroll} px wide: ${widths.wide.join(', ')}`).toBeLessThanOrEqual(widths.viewport);
      await expectAccessible(page, `${hash} at 390 px`);
      await screenshot(page, `narrow-${hash.split('/')[1] || 'dashboard'}`);
    }
  });
});
