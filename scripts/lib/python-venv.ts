import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Project-local Python virtualenvs, each made from a pinned requirements.txt beside it and
 * refreshed whenever that file changes: the emulator's (localstack/) and the IaC scanners'
 * (infra/scan/). Two, because checkov pins an older boto3 than the emulator needs.
 */
export interface VirtualenvSpec {
  /** The folder holding requirements.txt; the virtualenv is `.venv` in it. */
  dir: string;
  /** A program the requirements install into `.venv/bin`: its absence means the install is incomplete. */
  probe: string;
  /** What is being installed, for the one line printed while pip runs. */
  label: string;
  /** The interpreter to make the virtualenv with, when the tools want a newer one than `python()` finds. */
  python?: string;
}

export function python(): string {
  for (const candidate of ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; assert sys.version_info >= (3, 10)'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  throw new Error('Python 3.10+ with the venv module is required (on Debian: apt-get install python3-venv)');
}

/** Creates or refreshes the virtualenv; returns its bin folder. */
export function ensureVirtualenv(spec: VirtualenvSpec, log: (line: string) => void = console.log): string {
  const venv = path.join(spec.dir, '.venv');
  const bin = path.join(venv, 'bin');
  const requirementsFile = path.join(spec.dir, 'requirements.txt');
  const wanted = createHash('sha256').update(readFileSync(requirementsFile, 'utf8')).digest('hex');
  const marker = path.join(venv, '.requirements-sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted && existsSync(path.join(bin, spec.probe))) return bin;
  log(`Installing ${spec.label} into ${path.relative(process.cwd(), venv) || venv} …`);
  if (!existsSync(path.join(bin, 'python'))) {
    const created = spawnSync(spec.python ?? python(), ['-m', 'venv', venv], { stdio: 'inherit' });
    if (created.status !== 0) throw new Error('python -m venv failed (on Debian: apt-get install python3-venv)');
  }
  const pip = spawnSync(path.join(bin, 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', requirementsFile], { stdio: 'inherit' });
  if (pip.status !== 0) throw new Error(`pip install of ${requirementsFile} failed`);
  writeFileSync(marker, wanted);
  return bin;
}
