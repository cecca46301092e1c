import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LEAN_AWS_ALIAS } from './infra/constructs/function-bundling.js';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

/**
 * Five projects: `unit` and `infra` run without the emulator (fast, `npm run test:unit`);
 * `integration` (store adapters with real SDK calls), `integration-lean` (the store's
 * concurrency tests through the device bundle's lean AWS clients) and `e2e` (HTTP, CLI, browser)
 * run against the real stack deployed on the emulator by their global setup. Isolation is
 * by data (each file creates its own accounts), so e2e files may run side by side; two at a
 * time suits a 2-core machine.
 */
export default defineConfig({
  test: {
    reporters: ['default'],
    // One setting for every project: vitest cannot mix worker counts in one run, and two suit 2 cores.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: { name: 'infra', include: ['test/infra/**/*.test.ts'], environment: 'node', testTimeout: 120_000, hookTimeout: 300_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The store's concurrency tests again, with the SDK packages replaced by the lean clients
        // the device-api bundle is built with (infra/constructs/function-bundling.ts): the
        // guarantees they check must hold on the code Lambda runs, not only on the SDK path.
        extends: true,
        resolve: { alias: Object.fromEntries(Object.entries(LEAN_AWS_ALIAS).map(([from, to]) => [from, path.join(ROOT, to)])) },
        test: {
          name: 'integration-lean',
          include: ['test/integration-lean/**/*.test.ts', 'test/integration/atomicity.test.ts', 'test/integration/reservations.test.ts', 'test/integration/rate-limits.test.ts', 'test/integration/unit-sources.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
