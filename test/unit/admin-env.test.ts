import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { resolveAdminEnvironment } from '../../scripts/lib/admin-env.js';
import { quietSdkNodeVersionWarning } from '../../scripts/lib/sdk-warning.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function localFile(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'flashline-admin-')), 'local.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('npm run admin: which stack', () => {
  const local = localFile({ apiUrl: 'http://127.0.0.1:4573/_aws/execute-api/flashline/', awsEndpoint: 'http://127.0.0.1:4573', consoleUrl: 'http://127.0.0.1:4580/' });

  it('uses the ambient AWS environment whenever the operator set one, local file or not', () => {
    for (const env of [{ AWS_REGION: 'eu-central-1' }, { AWS_PROFILE: 'prod' }, { AWS_DEFAULT_REGION: 'us-east-1' }, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }]) {
      expect(resolveAdminEnvironment({ env, localStackFile: local, hasAwsFiles: false })).toEqual({ source: 'ambient', env: {} });
    }
    expect(resolveAdminEnvironment({ env: {}, localStackFile: local, hasAwsFiles: true }).source).toBe('ambient');
  });

  it('otherwise reads the local stack from .flashline/local.json: its emulator, a region and credentials', () => {
    const resolved = resolveAdminEnvironment({ env: { AWS_CA_BUNDLE: '/etc/ssl/certs/ca.crt' }, localStackFile: local, hasAwsFiles: false });
    expect(resolved).toMatchObject({ source: 'local', file: local, env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4573', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: expect.any(String), AWS_SECRET_ACCESS_KEY: expect.any(String) } });
  });

  it('finds the emulator in an older local.json from its API URL', () => {
    const old = localFile({ apiUrl: 'http://127.0.0.1:4566/_aws/execute-api/flashline/', credentialsFile: 'x' });
    expect(resolveAdminEnvironment({ env: {}, localStackFile: old, hasAwsFiles: false }).env.AWS_ENDPOINT_URL).toBe('http://127.0.0.1:4566');
  });

  it('says what to do when there is neither', () => {
    expect(() => resolveAdminEnvironment({ env: {}, hasAwsFiles: false })).toThrow(/no AWS environment .* run `npm start`/);
    const foreign = localFile({ apiUrl: 'https://abc.execute-api.eu-central-1.amazonaws.com/' });
    expect(() => resolveAdminEnvironment({ env: {}, localStackFile: foreign, hasAwsFiles: false })).toThrow(/names no local emulator/);
  });
});

describe("the AWS SDK's Node-version warning", () => {
  it('is switched off by the SDK’s own variable, unless the user set it', () => {
    const env: NodeJS.ProcessEnv = {};
    quietSdkNodeVersionWarning(env);
    expect(env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    const chosen: NodeJS.ProcessEnv = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
    quietSdkNodeVersionWarning(chosen);
    expect(chosen.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('false');
  });

  it('cannot come from the flashline CLI: it loads no AWS SDK module (it talks HTTP with fetch)', async () => {
    const result = await build({ entryPoints: [path.join(ROOT, 'cli/main.ts')], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, packages: 'external', logLevel: 'silent' });
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imports.filter((name) => /^@aws-sdk\/|^@smithy\//.test(name))).toEqual([]);
    expect(Object.keys(result.metafile.inputs).filter((file) => file.includes('shared/store/'))).toEqual([]);
  });
});
