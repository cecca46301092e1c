/**
 * The esbuild options of every Lambda bundle, in one place: `ProjectFunction` deploys with them
 * and `scripts/bundle-report.ts` (the bench, the bundle-budget test) measures with them, so a
 * reported size is the deployed size.
 */
export const FUNCTION_BUNDLING = {
  format: 'esm' as const,
  // Node 20 is the floor we run on (the local emulator runs handlers on the host's Node).
  target: 'node20',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // Bundle the SDK too: pinned version, faster cold start, and the emulator's workers cannot resolve it otherwise.
  externalModules: [] as string[],
  mainFields: ['module', 'main'],
  banner: "import { createRequire as __flashlineCreateRequire } from 'node:module'; const require = __flashlineCreateRequire(import.meta.url);",
  /**
   * Import paths replaced at bundle time (paths relative to the repository root).
   *
   * `@aws-sdk/credential-provider-node` is every SDK client's default credential chain: env,
   * SSO, ini files, credential_process, web identity, ECS/IMDS, each with its own STS/SSO
   * clients (~90 kB minified of a function's bundle). A Lambda function always finds its role's
   * credentials in the environment, so its bundles get an env-only provider instead, which
   * fails the cold start if they are missing. Code run outside Lambda (tests, scripts, CLI)
   * is not bundled by this and keeps the full chain.
   */
  alias: {
    '@aws-sdk/credential-provider-node': './functions/env-credentials.ts',
  } as Record<string, string>,
};
