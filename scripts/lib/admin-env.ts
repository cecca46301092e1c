import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { EMULATOR_AWS_ENV } from '../../localstack/ministack.js';

/** Variables and files any of which means "the operator chose an AWS environment": we then use it as is. */
const AMBIENT_VARIABLES = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'];

export interface AdminEnvironmentInputs {
  env: Record<string, string | undefined>;
  /** `.flashline/local.json` as `npm start` writes it, or undefined when there is none. */
  localStackFile?: string;
  /** Whether the operator has AWS config or credentials files (~/.aws). */
  hasAwsFiles: boolean;
}

export type AdminEnvironment = { source: 'ambient'; env: Record<string, string> } | { source: 'local'; env: Record<string, string>; file: string };

/**
 * Where `npm run admin` finds the stack. The ambient AWS environment when there is one
 * (production, or an emulator the caller points at); otherwise the local stack that `npm start`
 * recorded, so an operator trying Flashline locally needs no AWS variables set by hand.
 */
export function resolveAdminEnvironment(inputs: AdminEnvironmentInputs): AdminEnvironment {
  if (inputs.hasAwsFiles || AMBIENT_VARIABLES.some((name) => inputs.env[name])) return { source: 'ambient', env: {} };
  if (!inputs.localStackFile) {
    throw new Error('no AWS environment (set AWS_REGION and credentials, or AWS_PROFILE) and no local stack (.flashline/local.json; run `npm start`)');
  }
  const local = JSON.parse(readFileSync(inputs.localStackFile, 'utf8')) as { apiUrl?: string; awsEndpoint?: string };
  // Files from before `awsEndpoint` was recorded still name the emulator: it serves the API under /_aws/execute-api/.
  const endpoint = local.awsEndpoint ?? (local.apiUrl?.includes('/_aws/execute-api/') ? new URL(local.apiUrl).origin : undefined);
  if (!endpoint) throw new Error(`${inputs.localStackFile} names no local emulator (awsEndpoint); set the AWS environment instead`);
  // The emulator accepts any credentials; these are the ones the harness deploys with.
  return { source: 'local', env: { ...EMULATOR_AWS_ENV, AWS_ENDPOINT_URL: endpoint }, file: inputs.localStackFile };
}

/** The same, read from this machine: the repository's `.flashline/local.json` and `~/.aws`. */
export function adminEnvironmentHere(root: string, env: NodeJS.ProcessEnv = process.env): AdminEnvironment {
  const localStackFile = path.join(root, '.flashline', 'local.json');
  const awsDir = path.join(homedir(), '.aws');
  return resolveAdminEnvironment({
    env,
    localStackFile: existsSync(localStackFile) ? localStackFile : undefined,
    hasAwsFiles: existsSync(path.join(awsDir, 'config')) || existsSync(path.join(awsDir, 'credentials')),
  });
}
