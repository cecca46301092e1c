import { defineConfig } from 'vitest/config';

/**
 * Four projects: `unit` and `infra` run without the emulator (fast, `npm run test:unit`);
 * `integration` (store adapters with real SDK calls) and `e2e` (HTTP, CLI, browser) run against
 * the real stack deployed on the emulator by their global setup. Isolation is
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
