import { functionEnvironment, measureFunctionBundles } from '../../scripts/bundle-report.js';
import type { DeployedApi } from './deployed.js';

/**
 * Size and module init time of a device function, measured by the same bundle report the
 * unit test's budget uses (scripts/bundle-report.ts: esbuild with ProjectFunction's options, a
 * fresh `node` importing the bundle once per run, median of 5), with the deployed function's
 * environment (its NODE_OPTIONS included, if it has any) over the report's placeholders.
 */
export interface BundleReport {
  entry: string;
  bytes: number;
  /** Median wall time of a fresh import; on a loaded machine read it with `initCpuMs`. */
  initMs: { median: number; samples: number[] };
  initCpuMs: number;
  /** The largest contributors, by npm package (or folder of ours). */
  packages: { name: string; bytes: number }[];
  nodeOptions: string;
}

export async function measureBundle(name: string, environment: Record<string, string> = {}): Promise<BundleReport> {
  const merged = { ...functionEnvironment(`functions/${name}/index.ts`), ...environment };
  const [report] = await measureFunctionBundles({ names: [name], environment: merged });
  if (!report) throw new Error(`no function named ${name} under functions/`);
  return {
    entry: report.entry,
    bytes: report.bytes,
    initMs: { median: Math.round(report.initMs * 10) / 10, samples: report.initRunsMs.map((ms) => Math.round(ms * 10) / 10) },
    initCpuMs: Math.round(report.initCpuMs * 10) / 10,
    packages: report.packages.slice(0, 8),
    nodeOptions: merged.NODE_OPTIONS ?? '',
  };
}

/** The device API's two functions, each with its deployed environment: issue 7's budget (≤ 250 kB, init ≤ 100 ms) holds for both. */
export async function measureDeviceBundles(deployed: DeployedApi): Promise<BundleReport[]> {
  return [await measureBundle('device-authorizations', deployed.authorizations.environment), await measureBundle('device-api', deployed.device.environment)];
}

export function renderBundle(report: BundleReport): string {
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
  const largest = report.packages.map((p) => `${p.name} ${kb(p.bytes)}`).join(', ');
  return `Bundle ${report.entry}: ${kb(report.bytes)} minified; module init ${report.initMs.median} ms wall, ${report.initCpuMs} ms CPU (median of ${report.initMs.samples.length}${report.nodeOptions ? `; ${report.nodeOptions}` : ''}); largest: ${largest}`;
}
