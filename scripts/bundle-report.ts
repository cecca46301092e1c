import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { FUNCTION_BUNDLING, bundlingAlias, runtimeNodeOptions } from '../infra/constructs/function-bundling.js';

/**
 * Size and module init time of every Lambda bundle, built with exactly the options
 * `ProjectFunction` deploys with. `npx tsx scripts/bundle-report.ts [--runs N] [--breakdown]
 * [--json]` prints them; the bench calls `measureFunctionBundles()`; the bundle-budget unit test
 * calls `buildFunctionBundle()`.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What a function's module scope reads at load, with placeholder values: no request is made at
 * init, so nothing here is ever called. A function needing a new variable at load fails to
 * import until it is listed here (the error names it).
 */
export const PLACEHOLDER_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'ASIAPLACEHOLDER',
  AWS_SECRET_ACCESS_KEY: 'placeholder',
  AWS_SESSION_TOKEN: 'placeholder',
  POWERTOOLS_SERVICE_NAME: 'bundle-report',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  TABLE_NAME: 'entities',
  EVENTS_TABLE_NAME: 'events',
  SIGNING_KEY_ID: '00000000-0000-0000-0000-000000000000',
  TICKET_KEY_ID: '00000000-0000-0000-0000-000000000001',
  IMAGES_BUCKET: 'images',
  PUBLIC_API_URL: 'https://api.example.com/',
  CURSOR_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:cursor-key',
  CA_KEY_TAG_VALUE: 'Flashline',
  DATA_KEY_ID: '00000000-0000-0000-0000-000000000002',
  WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/deliveries',
  WEBHOOK_DEAD_LETTER_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/failures',
  WEBHOOK_RETRY_BASE_SECONDS: '5',
};

/** The placeholders plus the function's own NODE_OPTIONS, as ProjectFunction deploys it. */
export function functionEnvironment(entry: string): Record<string, string> {
  const nodeOptions = runtimeNodeOptions(entry);
  return nodeOptions ? { ...PLACEHOLDER_ENVIRONMENT, NODE_OPTIONS: nodeOptions } : PLACEHOLDER_ENVIRONMENT;
}

export interface BundleBuild {
  /** Minified bytes of the function's code file (the source map is separate and not loaded unless an error is printed). */
  bytes: number;
  file: string;
  /** Bytes in the output per npm package (or per folder of ours), largest first. */
  packages: { name: string; bytes: number }[];
  /** The files that put code in the bundle (relative to the repository root; tree-shaken-away imports are not listed). */
  modules: string[];
}

export interface FunctionBundleReport extends BundleBuild {
  name: string;
  entry: string;
  /** Median wall time to `import()` the bundle in a fresh Node process. */
  initMs: number;
  initRunsMs: number[];
  /** Median CPU time (all threads) of the same imports: what a loaded machine distorts least. */
  initCpuMs: number;
}

/** Every function entry point: `functions/<name>/index.ts`. */
export function functionEntries(): { name: string; entry: string }[] {
  return readdirSync(path.join(ROOT, 'functions'), { withFileTypes: true })
    .filter((dirent) => dirent.isDirectory())
    .map((dirent) => ({ name: dirent.name, entry: `functions/${dirent.name}/index.ts` }))
    .filter(({ entry }) => statSync(path.join(ROOT, entry), { throwIfNoEntry: false })?.isFile());
}

/** esbuild's options for one entry, translated from FUNCTION_BUNDLING as NodejsFunction translates them. */
export function esbuildOptions(entry: string, outfile: string): esbuild.BuildOptions {
  return {
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: FUNCTION_BUNDLING.format,
    target: FUNCTION_BUNDLING.target,
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourceMap,
    sourcesContent: FUNCTION_BUNDLING.sourcesContent,
    external: FUNCTION_BUNDLING.externalModules,
    mainFields: FUNCTION_BUNDLING.mainFields,
    banner: { js: FUNCTION_BUNDLING.banner },
    alias: bundlingAlias(entry),
    metafile: true,
    logLevel: 'warning',
  };
}

export async function buildFunctionBundle(entry: string, outDir: string): Promise<BundleBuild> {
  const file = path.join(outDir, 'index.mjs');
  const { metafile } = await esbuild.build(esbuildOptions(entry, file));
  const output = Object.values(metafile!.outputs).find((candidate) => candidate.entryPoint)!;
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? path.dirname(input);
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const packages = [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
  const modules = Object.entries(output.inputs).filter(([, { bytesInOutput }]) => bytesInOutput > 0).map(([input]) => input);
  return { bytes: output.bytes, file, packages, modules };
}

/** Wall and CPU milliseconds to import the bundle once, in a fresh process, with Lambda's NODE_OPTIONS and placeholder configuration. */
export async function measureInit(file: string, environment: Record<string, string> = PLACEHOLDER_ENVIRONMENT): Promise<{ wallMs: number; cpuMs: number }> {
  const script = [
    'const cpu = process.cpuUsage(); const t = performance.now();',
    'await import(process.env.BUNDLE_URL);',
    'const wallMs = performance.now() - t; const { user, system } = process.cpuUsage(cpu);',
    'process.stdout.write(JSON.stringify({ wallMs, cpuMs: (user + system) / 1000 }));',
  ].join(' ');
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    // Only what Lambda would set: no AWS_PROFILE or endpoint of the caller's shell leaks in.
    env: { PATH: process.env.PATH ?? '', ...environment, BUNDLE_URL: pathToFileURL(file).href },
  });
  return JSON.parse(stdout);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export async function measureFunctionBundles(options: { names?: string[]; initRuns?: number; environment?: Record<string, string> } = {}): Promise<FunctionBundleReport[]> {
  const reports: FunctionBundleReport[] = [];
  const root = mkdtempSync(path.join(tmpdir(), 'flashline-bundle-report-'));
  try {
    for (const { name, entry } of functionEntries().filter(({ name }) => !options.names || options.names.includes(name))) {
      const build = await buildFunctionBundle(entry, path.join(root, name));
      const runs: { wallMs: number; cpuMs: number }[] = [];
      // One at a time: parallel imports on 2 cores would measure the scheduler.
      for (let run = 0; run < (options.initRuns ?? 5); run++) runs.push(await measureInit(build.file, options.environment ?? functionEnvironment(entry)));
      const initRunsMs = runs.map((run) => run.wallMs);
      reports.push({ name, entry, ...build, initMs: median(initRunsMs), initRunsMs, initCpuMs: median(runs.map((run) => run.cpuMs)) });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return reports;
}

async function main(args: string[]): Promise<void> {
  const runsAt = args.indexOf('--runs');
  const reports = await measureFunctionBundles({ initRuns: runsAt >= 0 ? Number(args[runsAt + 1]) : 5 });
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(reports.map(({ file: _file, packages, ...report }) => ({ ...report, packages: packages.slice(0, 15) })), null, 2)}\n`);
    return;
  }
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  for (const report of reports) {
    process.stdout.write(`${report.name.padEnd(16)} ${String(report.bytes).padStart(8)} B  ${kb(report.bytes).padStart(10)}  init ${report.initMs.toFixed(1)} ms, cpu ${report.initCpuMs.toFixed(1)} ms (wall runs ${report.initRunsMs.map((ms) => ms.toFixed(0)).join(', ')})\n`);
    if (args.includes('--breakdown')) {
      for (const { name, bytes } of report.packages.slice(0, 15)) process.stdout.write(`    ${kb(bytes).padStart(10)}  ${name}\n`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
    process.exit(1);
  });
}
