import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CredentialsFile, type CredentialsFileType } from '../shared/contract/account.js';
import { credentialsFileName } from '../shared/domain/credentials-file-name.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/** `--credentials`, else FLASHLINE_CREDENTIALS, else ~/.flashline/credentials.json. */
export function credentialsPath(option: string | undefined, io: Pick<CliIo, 'env' | 'cwd' | 'homeDir'>): string {
  const chosen = option ?? io.env.FLASHLINE_CREDENTIALS ?? path.join(io.homeDir, '.flashline', 'credentials.json');
  return path.resolve(io.cwd, chosen);
}

export function readCredentials(file: string): CredentialsFileType {
  if (!existsSync(file)) {
    throw new UsageError(`no credentials file at ${file} (pass --credentials FILE or set FLASHLINE_CREDENTIALS)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = CredentialsFile.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ');
    throw new UsageError(`${file} is not a Flashline credentials file (${issues})`);
  }
  return parsed.data;
}

/**
 * Refuses to replace an existing credentials file unless asked: overwriting would lose the other
 * secret. Called BEFORE the API creates the key, whose token exists only in that one answer.
 */
export function assertWritable(file: string, overwrite = false): void {
  if (existsSync(file) && !overwrite) throw new UsageError(`${file} exists; choose another --out or pass --force`);
}

/**
 * The CLI's own folder name, for secrets: `~/.flashline` (the default credentials) and
 * `./.flashline` (where new credentials files go unless `--out` says otherwise).
 */
export const SECRETS_FOLDER = '.flashline';

/**
 * Makes a `.flashline` folder private: 0700 (also when it exists, e.g. made by hand or by an
 * older version), with a `.gitignore` of `*`. We chose a folder with its own ignore rule over
 * adding a line to the project's `.gitignore`: it works in any folder, git repository or not,
 * needs no edit of a file the user owns and reviews, and keeps covering the folder's contents if
 * the folder is copied or the project's ignore file is rewritten.
 */
export function ensureSecretsFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const ignore = path.join(dir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# Written by flashline: credentials files hold secrets; never commit them.\n*\n');
}

/** Whether a file lands in a `.flashline` folder, the one place the CLI guarantees an ignore rule for. */
export function inSecretsFolder(file: string): boolean {
  return path.basename(path.dirname(file)) === SECRETS_FOLDER;
}

/** `--out FILE` as given, else `./.flashline/<name>.credentials.json`: never loose in the current folder. */
export function credentialsOutPath(cwd: string, out: string | undefined, name: string): string {
  return path.resolve(cwd, out ?? path.join(SECRETS_FOLDER, credentialsFileName(name)));
}

/**
 * Writes a credentials file readable by its owner only (0600): it holds a secret shown once.
 * Folders it creates are 0700; a `.flashline` folder is made private and ignored whether new or not.
 */
export function writeCredentials(file: string, credentials: CredentialsFileType, options: { overwrite?: boolean } = {}): void {
  assertWritable(file, options.overwrite);
  const dir = path.dirname(file);
  if (inSecretsFolder(file)) ensureSecretsFolder(dir);
  else mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: options.overwrite ? 'w' : 'wx' });
  // `mode` applies only when the file is created; an overwritten file would keep its old mode.
  chmodSync(file, 0o600);
}
