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

/**
 * The lean AWS clients (shared/aws-lean/): the JSON-protocol calls the store makes to DynamoDB
 * and KMS, in place of the SDK's document client, DynamoDB client and KMS client (~180 kB
 * minified of @smithy/core, @aws-sdk/core and the clients, and a third of the module init).
 * Only the two device functions get them: they are the programmers' hot path, where cold
 * starts count (issue 7: ≤ 250 kB, init ≤ 100 ms). The management API and the image verifier
 * keep the SDK. The store's source imports the SDK either way; the integration tests run the
 * store through these replacements too (vitest.config.ts, project `integration-lean`).
 */
export const LEAN_AWS_ALIAS: Record<string, string> = {
  '@aws-sdk/lib-dynamodb': './shared/aws-lean/dynamodb.ts',
  '@aws-sdk/client-dynamodb': './shared/aws-lean/dynamodb.ts',
  '@aws-sdk/client-kms': './shared/aws-lean/kms.ts',
  // Powertools Tracer (aws-xray-sdk-core: +134 kB, +54 ms init) → the lean clients trace themselves.
  '@aws-lambda-powertools/tracer': './shared/aws-lean/tracer.ts',
};

/**
 * What one function's bundle and runtime differ in. The device function (the programmers' hot
 * path, where cold starts count; issue 7: ≤ 250 kB, module init ≤ 100 ms):
 * - gets the lean AWS clients (LEAN_AWS_ALIAS);
 * - runs without `--enable-source-maps`: with it, Node reads and decodes the whole source map
 *   (~370 kB) while loading the bundle, a third of the device function's module init. Its stack
 *   traces then name positions in `index.mjs`; the map still ships beside it in the asset, so
 *   `node --enable-source-maps` (or any source-map tool) maps a logged trace afterwards.
 * The other functions keep the SDK and mapped traces at runtime.
 */
const LEAN_ENTRIES = new Set(['functions/device-api/index.ts', 'functions/device-authorizations/index.ts']);

/** The import replacements of one function's bundle (`entry` relative to the repository root). */
export function bundlingAlias(entry: string): Record<string, string> {
  return LEAN_ENTRIES.has(entry) ? { ...FUNCTION_BUNDLING.alias, ...LEAN_AWS_ALIAS } : FUNCTION_BUNDLING.alias;
}

/** The function's NODE_OPTIONS, if any (see above). */
export function runtimeNodeOptions(entry: string): string | undefined {
  return LEAN_ENTRIES.has(entry) ? undefined : '--enable-source-maps';
}
