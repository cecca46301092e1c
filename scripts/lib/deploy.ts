import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parseApiFlavour, stageSegmentOf } from '../../infra/api-flavour.js';
import { type Emulator, LOCAL_API_ID, executeApiUrl } from '../../localstack/emulator.js';
import { API_STACK_NAME, STACK_NAME, type StackOutputs, readStackOutputs } from './stack.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Per emulator port, so that several emulators (one per developer task) can serve one work tree.
const EMULATOR_PORT = process.env.FLASHLINE_EMULATOR_PORT ?? '4566';
const CLOUD_ASSEMBLY = path.join(ROOT, `cdk.out.local-${EMULATOR_PORT}`);

/** Runs a command with a hard timeout: a stuck custom resource would otherwise wait an hour. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, quiet = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (!quiet) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      if (!quiet) process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs / 1000}s\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${output.slice(-4000)}`));
    });
  });
}

async function stackExists(stackName: string): Promise<boolean> {
  try {
    const { Stacks } = await new CloudFormationClient({}).send(new DescribeStacksCommand({ StackName: stackName }));
    return Boolean(Stacks?.[0]?.StackStatus?.endsWith('_COMPLETE') && !Stacks[0].StackStatus.startsWith('DELETE'));
  } catch {
    return false;
  }
}

const bothStacksExist = async () => (await Promise.all([STACK_NAME, API_STACK_NAME].map(stackExists))).every(Boolean);

async function isBootstrapped(): Promise<boolean> {
  try {
    await new SSMClient({}).send(new GetParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' }));
    return true;
  } catch {
    return false;
  }
}

/**
 * The hash of the template last deployed is kept in the emulator itself, beside what it
 * describes: a file in the work tree outlived the emulator state it was about (a throw-away
 * test emulator and the persistent `npm start` one share a port) and made a later start skip a
 * deploy the state needed.
 */
const DEPLOYED_TEMPLATE_PARAMETER = '/flashline/local/deployed-template-sha256';

async function deployedTemplateHash(): Promise<string | undefined> {
  try {
    const { Parameter } = await new SSMClient({}).send(new GetParameterCommand({ Name: DEPLOYED_TEMPLATE_PARAMETER }));
    return Parameter?.Value;
  } catch {
    return undefined;
  }
}

function assemblyHash(): string {
  const hash = createHash('sha256');
  // The template names every asset by its content hash, so it alone says whether anything changed.
  for (const file of readdirSync(CLOUD_ASSEMBLY).filter((f) => f.endsWith('.template.json')).sort()) {
    hash.update(readFileSync(path.join(CLOUD_ASSEMBLY, file)));
  }
  return hash.digest('hex');
}

/** The synthesized template of the stateless stack (the API's) last deployed (or checked) against this emulator. */
export const STACK_TEMPLATE = path.join(CLOUD_ASSEMBLY, `${API_STACK_NAME}.template.json`);

export interface DeployResult {
  outputs: StackOutputs;
  deployed: boolean;
  seconds: number;
}

/**
 * Synthesizes the real CDK app and deploys it to the emulator the environment points at,
 * unless the very same template is already deployed there.
 */
export async function deployLocalStack(env: NodeJS.ProcessEnv, emulator: Emulator, log: (line: string) => void = console.log): Promise<DeployResult> {
  const started = Date.now();
  const cdk = path.join(ROOT, 'node_modules', '.bin', 'cdk');
  // Credentials files handed out name the API where this emulator serves it.
  const apiFlavour = parseApiFlavour(env.FLASHLINE_API_FLAVOUR);
  const publicApiUrl = executeApiUrl(emulator, LOCAL_API_ID, stageSegmentOf(apiFlavour));
  const synth = ['synth', '--quiet', '-c', 'env=local', '-c', `apiFlavour=${apiFlavour}`, '-c', `publicApiUrl=${publicApiUrl}`, '--output', CLOUD_ASSEMBLY];
  await run(cdk, synth, env, 300_000);
  const hash = assemblyHash();
  if ((await deployedTemplateHash()) === hash && (await bothStacksExist())) {
    return { outputs: await readStackOutputs(STACK_NAME, API_STACK_NAME, emulator), deployed: false, seconds: (Date.now() - started) / 1000 };
  }
  if (!(await isBootstrapped())) {
    log('Bootstrapping CDK on the emulator …');
    await run(cdk, ['bootstrap', `aws://${env.CDK_DEFAULT_ACCOUNT}/${env.CDK_DEFAULT_REGION}`, '--app', CLOUD_ASSEMBLY], env, 300_000);
  }
  log(`Deploying the Flashline stacks (${STACK_NAME}, ${API_STACK_NAME}) to the emulator …`);
  // Both, stateful first (the stateless one imports its exports); the hash covers both templates.
  await run(cdk, ['deploy', STACK_NAME, API_STACK_NAME, '--app', CLOUD_ASSEMBLY, '--require-approval', 'never', '--progress', 'events'], env, 600_000);
  await new SSMClient({}).send(new PutParameterCommand({ Name: DEPLOYED_TEMPLATE_PARAMETER, Value: hash, Type: 'String', Overwrite: true }));
  return { outputs: await readStackOutputs(STACK_NAME, API_STACK_NAME, emulator), deployed: true, seconds: (Date.now() - started) / 1000 };
}
