import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** Debian's package; FLASHLINE_CHROMIUM points elsewhere (another distribution's path). Never a downloaded browser. */
export const CHROMIUM = process.env.FLASHLINE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const haveChromium = existsSync(CHROMIUM);
/** .ci/run sets FLASHLINE_REQUIRE_BROWSER=1: a missing browser is then a failure, not a skip. */
export const requireChromium = process.env.FLASHLINE_REQUIRE_BROWSER === '1';
export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results/screenshots');
