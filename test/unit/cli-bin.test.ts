import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FLASHLINE_BIN } from '../support/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MANIFEST = path.join(ROOT, 'node_modules', '.cache', 'flashline-cli', 'inputs.json');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const run = (...args: string[]) => promisify(execFile)(process.execPath, [FLASHLINE_BIN, ...args], { cwd: ROOT });
const manifest = () => JSON.parse(readFileSync(MANIFEST, 'utf8')) as { builtFrom: number; inputs: string[] };

describe('the flashline command runs a bundle of the CLI, rebuilt when its sources change', () => {
  it('bundles the CLI and names the files it was built from', async () => {
    expect((await run('--version')).stdout.trim()).toBe(version);
    expect(manifest().inputs).toEqual(expect.arrayContaining(['cli/main.ts', 'cli/program.ts', 'package.json']));
    expect(manifest().inputs.some((file) => file.startsWith('node_modules/'))).toBe(false);
  });

  it('rebuilds when a source is newer than the bundle, and runs the rebuilt one', async () => {
    await run('--version');
    // As if every source had been edited after the last build began.
    writeFileSync(MANIFEST, JSON.stringify({ ...manifest(), builtFrom: 0 }));
    const before = Date.now();
    const { stdout } = await run('--help');
    expect(stdout).toMatch(/Usage: flashline/);
    expect(manifest().builtFrom).toBeGreaterThanOrEqual(before - 1);
  });
});
