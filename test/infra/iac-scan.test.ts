import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlashlineStack } from '../../infra/flashline-stack.js';
import { type CfnLintMatch, type CheckovReport, SCAN_DIR, cfnLint, checkov, ensureScanTools } from '../../scripts/iac-scan.js';

/**
 * checkov and cfn-lint on the template `cdk deploy` produces for AWS (console included, the same
 * feature flags as cdk.json). Every checkov failure must be waived with a reason in
 * infra/scan/checkov-waivers.json, and every waiver must still match a failure.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');

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
    const { context } = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    // No asset bundling (functions, console build): the scanners read the template only.
    const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new FlashlineStack(app, 'Flashline', { removalPolicy: RemovalPolicy.RETAIN, console: true, env: { account: '123456789012', region: 'eu-central-1' } });
    dir = mkdtempSync(path.join(tmpdir(), 'flashline-scan-'));
    const templateFile = path.join(dir, 'Flashline.template.json');
    writeFileSync(templateFile, JSON.stringify(Template.fromStack(stack).toJSON(), null, 1));
    // Both at once: together they take about as long as checkov alone.
    [report, lint] = await Promise.all([checkov(bin, templateFile), cfnLint(bin, templateFile)]);
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
