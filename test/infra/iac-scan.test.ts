import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CfnLintMatch, type CheckovReport, SCAN_DIR, cfnLint, checkov, ensureScanTools } from '../../scripts/iac-scan.js';
import { synthFlashline } from './synth.js';

/**
 * checkov and cfn-lint on the template `cdk deploy` produces for AWS (console included, the same
 * feature flags as cdk.json). Every checkov failure must be waived with a reason in
 * infra/scan/checkov-waivers.json, and every waiver must still match a failure.
 */
interface Waiver {
  check: string;
  resources: string[];
  reason: string;
}
const { waivers } = JSON.parse(readFileSync(path.join(SCAN_DIR, 'checkov-waivers.json'), 'utf8')) as { waivers: Waiver[] };
const waives = (waiver: Waiver, finding: { check: string; logicalId: string }) =>
  waiver.check === finding.check && waiver.resources.some((prefix) => prefix === '*' || finding.logicalId.startsWith(prefix));

describe('IaC scanning of the synthesized template', () => {
  let dir: string;
  let report: CheckovReport;
  let lint: CfnLintMatch[];

  beforeAll(async () => {
    const bin = ensureScanTools();
    // No asset bundling (functions, console build): the scanners read the templates only.
    const { dataTemplate, apiTemplate } = synthFlashline({ console: true, bundle: false });
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-scan-'));
    const files = [
      ['Flashline', dataTemplate],
      ['FlashlineApi', apiTemplate],
    ].map(([name, template]) => {
      const file = path.join(dir, `${name as string}.template.json`);
      writeFileSync(file, JSON.stringify((template as typeof dataTemplate).toJSON(), null, 1));
      return file;
    });
    // Both scanners at once: together they take about as long as checkov alone.
    const [reports, lints] = await Promise.all([Promise.all(files.map((file) => checkov(bin, file))), Promise.all(files.map((file) => cfnLint(bin, file)))]);
    report = { passed: reports.reduce((total, r) => total + r.passed, 0), failed: reports.flatMap((r) => r.failed) };
    lint = lints.flat();
    console.log(`checkov: ${report.passed} passed, ${report.failed.length} failed, all of them waived below; cfn-lint: ${lint.filter((m) => m.level === 'Error').length} errors, ${lint.filter((m) => m.level === 'Warning').length} warnings`);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has every waiver reasoned in one line', () => {
    for (const waiver of waivers) {
      expect(waiver.reason.length, `${waiver.check} ${waiver.resources.join(',')}`).toBeGreaterThan(20);
      expect(waiver.reason).not.toContain('\n');
    }
  });

  it('finds nothing checkov fails that the baseline does not waive', () => {
    const unwaived = report.failed.filter((finding) => !waivers.some((waiver) => waives(waiver, finding)));
    expect(unwaived.map((f) => `${f.check} ${f.resourceType}.${f.logicalId}: ${f.name}`)).toEqual([]);
    expect(report.passed).toBeGreaterThan(150);
  });

  it('keeps no stale waiver: each one still matches a failure', () => {
    const stale = waivers.filter((waiver) => !report.failed.some((finding) => waives(waiver, finding)));
    expect(stale.map((w) => `${w.check} ${w.resources.join(',')}`)).toEqual([]);
  });

  it('holds what was fixed: no check about log-group keys, function concurrency, bucket versioning or console logging fails for our resources', () => {
    const fixed = ['CKV_AWS_158', 'CKV_AWS_21', 'CKV_AWS_115'];
    const ours = report.failed.filter((f) => fixed.includes(f.check) && !/^(BucketNotificationsHandler|CustomCDKBucketDeployment)/.test(f.logicalId));
    expect(ours.map((f) => `${f.check} ${f.logicalId}`)).toEqual([]);
  });

  it('passes cfn-lint without errors', () => {
    expect(lint.filter((m) => m.level === 'Error').map((m) => `${m.rule} ${m.path}: ${m.message}`)).toEqual([]);
  });
});
