import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';

/**
 * The console bundles the contract (zod schemas and the typed client). Written as
 * `import { z } from 'zod'`, one contract module is enough for esbuild to keep every zod locale
 * and the app script grows to ~520 kB: this budget catches that. The console that does the work
 * (issue 11: forms on every page, the browser upload) measured 221 kB, up from 191 kB; with the
 * people, API keys, groups, sources and unit lookup pages 256 kB; with webhooks 264 kB. 300 kB still catches the
 * locale blow-up by far.
 */
const APP_SCRIPT_BUDGET_BYTES = 300_000;

describe('the console bundle', () => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'flashline-console-bundle-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it(`keeps its app script under ${APP_SCRIPT_BUDGET_BYTES / 1000} kB minified`, async () => {
    const { files } = await buildConsole({ outDir });
    const script = files.find((file) => /^assets\/app-.*\.js$/.test(file));
    expect(script).toBeDefined();
    expect(statSync(path.join(outDir, script!)).size).toBeLessThan(APP_SCRIPT_BUDGET_BYTES);
  });
});
