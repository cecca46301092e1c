#!/usr/bin/env node
// The `flashline` command. The repository has no build step, and loading the TypeScript CLI
// through tsx costs ~0.8 s a command (its loader hooks and a few hundred module files), so the
// first run after a change bundles the CLI with esbuild into node_modules/.cache/flashline-cli/
// (~0.3 s once) and every later run loads that one file (~0.3 s a command in all). The bundle is
// rebuilt when any of our files it was built from changed after its build began, or when
// node_modules changed (npm rewrites node_modules/.package-lock.json on every install). If
// bundling fails (a syntax error while editing), the CLI runs through tsx as before, which
// reports the error where it is.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = path.join(ROOT, 'cli', 'main.ts');
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'flashline-cli');
const BUNDLE = path.join(CACHE_DIR, 'flashline.mjs');
const MANIFEST = path.join(CACHE_DIR, 'inputs.json');

/** What identifies the installed dependencies the bundle carries. */
function installStamp() {
  try {
    const stat = statSync(path.join(ROOT, 'node_modules', '.package-lock.json'));
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'none';
  }
}

function bundleIsFresh() {
  try {
    const { builtFrom, install, inputs } = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    if (install !== installStamp()) return false;
    statSync(BUNDLE);
    return inputs.every((file) => statSync(path.join(ROOT, file)).mtimeMs < builtFrom);
  } catch {
    return false;
  }
}

/** Writes through a temporary file and a rename, so a CLI started meanwhile reads a whole file. */
function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

async function buildBundle() {
  const { build } = await import('esbuild');
  // Files changed from here on are newer than the bundle's sources: the next run rebuilds.
  const builtFrom = Date.now() - 1;
  const install = installStamp();
  const result = await build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    outfile: BUNDLE,
    logLevel: 'silent',
    // Some dependencies are CommonJS and require Node's built-ins.
    banner: { js: "import { createRequire as __flashlineRequire } from 'node:module'; const require = __flashlineRequire(import.meta.url);" },
  });
  mkdirSync(CACHE_DIR, { recursive: true });
  writeAtomically(BUNDLE, result.outputFiles[0].contents);
  const inputs = Object.keys(result.metafile.inputs).filter((file) => !file.startsWith('node_modules/'));
  // The manifest last: a manifest that says fresh always has its bundle (or a newer one) beside it.
  writeAtomically(MANIFEST, JSON.stringify({ builtFrom, install, inputs }));
}

let bundled = bundleIsFresh();
if (!bundled) {
  try {
    await buildBundle();
    bundled = true;
  } catch {
    bundled = false;
  }
}
if (bundled) {
  await import(new URL(`file://${BUNDLE}`).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../main.ts', import.meta.url).href);
}
