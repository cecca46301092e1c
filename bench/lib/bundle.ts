import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { ROOT } from '../../scripts/lib/deploy.js';

/**
 * Size and module init time of a Lambda entry, bundled with esbuild the way
 * infra/constructs/project-function.ts has CDK bundle it (ESM, node20, minified, external
 * source map without sources, every dependency bundled, the createRequire banner). Init time:
 * a fresh `node` imports the bundle, median of 5 runs, with the deployed function's
 * environment. (A stopgap until the bundle-report helper of the `bundle` branch lands.)
 */
export interface BundleReport {
  entry: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  initMs: { median: number; samples: number[] };
  nodeOptions: string;
}

const INIT_SAMPLES = 5;

export async function measureBundle(entry: string, environment: Record<string, string> = {}): Promise<BundleReport> {
  const dir = mkdtempSync(path.join(tmpdir(), 'flashline-bundle-'));
  try {
    const outfile = path.join(dir, 'index.mjs');
    await build({
      entryPoints: [path.join(ROOT, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      banner: { js: "import { createRequire as __flashlineCreateRequire } from 'node:module'; const require = __flashlineCreateRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    const code = readFileSync(outfile);
    const nodeOptions = environment.NODE_OPTIONS ?? '';
    const samples: number[] = [];
    const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); process.stdout.write('\\n@@init=' + (performance.now() - t0));`;
    for (let i = 0; i < INIT_SAMPLES; i += 1) {
      const output = execFileSync(process.execPath, [...nodeOptions.split(' ').filter(Boolean), '--input-type=module', '-e', script], {
        cwd: dir,
        env: { ...process.env, ...environment, NODE_OPTIONS: '' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      const ms = /@@init=([\d.]+)\s*$/.exec(output)?.[1];
      if (!ms) throw new Error(`timing the import of ${entry} printed no figure: ${output.slice(-500)}`);
      samples.push(Math.round(Number(ms) * 10) / 10);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      entry,
      bytes: code.byteLength,
      gzipBytes: gzipSync(code).byteLength,
      sourceMapBytes: statSync(`${outfile}.map`).size,
      initMs: { median: sorted[Math.floor(sorted.length / 2)]!, samples },
      nodeOptions,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderBundle(report: BundleReport): string {
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
  return `Bundle ${report.entry}: ${kb(report.bytes)} minified (${kb(report.gzipBytes)} gzipped, source map ${kb(report.sourceMapBytes)}); module init ${report.initMs.median} ms (median of ${report.initMs.samples.length}: ${report.initMs.samples.join(', ')}${report.nodeOptions ? `; ${report.nodeOptions}` : ''})`;
}
