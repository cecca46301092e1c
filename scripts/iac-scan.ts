import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVirtualenv } from './lib/python-venv.js';

/**
 * The IaC scanners (checkov, cfn-lint) from infra/scan/requirements.txt, run on a synthesized
 * template by test/infra/iac-scan.test.ts. `npx tsx scripts/iac-scan.ts --install` only
 * installs them (.ci/run does, so the test does not spend minutes in pip).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCAN_DIR = path.join(ROOT, 'infra', 'scan');

export function ensureScanTools(log?: (line: string) => void): string {
  return ensureVirtualenv({ dir: SCAN_DIR, probe: 'checkov', label: 'checkov and cfn-lint' }, log);
}

export interface CheckovFinding {
  check: string;
  name: string;
  resourceType: string;
  logicalId: string;
}

export interface CheckovReport {
  passed: number;
  failed: CheckovFinding[];
}

export interface CfnLintMatch {
  level: 'Error' | 'Warning' | 'Informational';
  rule: string;
  message: string;
  path: string;
}

function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // --skip-download and no telemetry: the scan works offline and reports to nobody.
    const child = spawn(command, args, { env: { ...process.env, BC_SKIP_MAPPING: 'TRUE', CHECKOV_RUN_SCA_PACKAGE_SCAN_V2: 'false' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function checkov(bin: string, templateFile: string): Promise<CheckovReport> {
  const { stdout, stderr } = await run(path.join(bin, 'checkov'), ['-f', templateFile, '--framework', 'cloudformation', '--output', 'json', '--compact', '--skip-download']);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`checkov printed no JSON report: ${stderr.slice(-2000) || stdout.slice(0, 2000)}`);
  }
  const report = (Array.isArray(parsed) ? parsed[0] : parsed) as {
    summary: { passed: number; failed: number; parsing_errors: number };
    results: { failed_checks: { check_id: string; check_name: string; resource: string }[] };
  };
  if (report.summary.parsing_errors > 0) throw new Error(`checkov could not parse ${templateFile}`);
  return {
    passed: report.summary.passed,
    failed: report.results.failed_checks.map((f) => {
      const [resourceType = '', logicalId = ''] = f.resource.split('.');
      return { check: f.check_id, name: f.check_name, resourceType, logicalId };
    }),
  };
}

export async function cfnLint(bin: string, templateFile: string): Promise<CfnLintMatch[]> {
  const { code, stdout, stderr } = await run(path.join(bin, 'cfn-lint'), ['--format', 'json', '--', templateFile]);
  // Exit codes are bit flags (2 errors, 4 warnings, 8 informational); 1 is a failure of cfn-lint itself.
  if (code === 1 || (code !== 0 && !stdout.trim())) throw new Error(`cfn-lint failed: ${stderr.slice(-2000)}`);
  const matches = JSON.parse(stdout || '[]') as { Level: CfnLintMatch['level']; Rule: { Id: string }; Message: string; Location: { Path: (string | number)[] } }[];
  return matches.map((m) => ({ level: m.Level, rule: m.Rule.Id, message: m.Message, path: m.Location.Path.join('/') }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv.includes('--install')) {
  ensureScanTools();
}
