import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../functions/env-credentials.js';
import { type BundleBuild, PLACEHOLDER_ENVIRONMENT, buildFunctionBundle, functionEntries, measureInit } from '../../scripts/bundle-report.js';

/**
 * The Lambda bundles, built with ProjectFunction's own options (infra/constructs/function-bundling.ts).
 * device-api was 689 kB with the S3 client (for presigning only) and the SDK's whole default
 * credential chain; this budget keeps those out. Both are easy to pull back in by accident:
 * importing ImageObjects/createS3Client into functions/shared-deps.ts, or dropping the alias.
 */
const DEVICE_API_BUDGET_BYTES = 420_000;
/** Pulled in only by credential providers Lambda never uses (SSO, ini files, STS web identity, IMDS). */
const CREDENTIAL_CHAIN_PACKAGES = ['@aws-sdk/nested-clients', '@aws-sdk/credential-provider-ini', '@aws-sdk/credential-provider-sso', '@smithy/credential-provider-imds'];

// esbuild takes 1-2 s a bundle on an idle machine; a loaded 2-core one needs far more than vitest's 5 s.
describe('the Lambda bundles', { timeout: 60_000 }, () => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'flashline-function-bundles-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));
  const builds = new Map<string, Promise<BundleBuild>>();
  const build = (name: string) => {
    if (!builds.has(name)) builds.set(name, buildFunctionBundle(`functions/${name}/index.ts`, path.join(outDir, name)));
    return builds.get(name)!;
  };
  const packagesOf = async (name: string) => (await build(name)).packages.map((entry) => entry.name);

  it(`keeps device-api under ${DEVICE_API_BUDGET_BYTES / 1000} kB minified, without the S3 client`, async () => {
    const device = await build('device-api');
    expect(device.bytes).toBeLessThan(DEVICE_API_BUDGET_BYTES);
    expect(await packagesOf('device-api')).not.toContain('@aws-sdk/client-s3');
  });

  it.each(functionEntries().map(({ name }) => name))('%s carries no credential provider but the environment', async (name) => {
    const packages = await packagesOf(name);
    expect(packages).toContain('@aws-sdk/credential-provider-env');
    for (const unwanted of CREDENTIAL_CHAIN_PACKAGES) expect(packages).not.toContain(unwanted);
  });

  it('fails the cold start, naming the variable, when Lambda credentials are missing', async () => {
    const { file } = await build('device-api');
    const { AWS_ACCESS_KEY_ID: _key, ...withoutKey } = PLACEHOLDER_ENVIRONMENT;
    await expect(measureInit(file, withoutKey)).rejects.toThrow(/Missing AWS_ACCESS_KEY_ID/);
    expect((await measureInit(file)).wallMs).toBeGreaterThan(0);
  });
});

describe('the env-only credential provider', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('reads the credentials Lambda puts in the environment', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token');
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('throws when the secret is missing', () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    expect(() => defaultProvider()).toThrow(/Missing AWS_SECRET_ACCESS_KEY/);
  });
});
