import { type Emulator, detectEmulator, emulatorEndpointFrom, forcedEmulatorKind, workaroundsFor } from '../../localstack/emulator.js';
import { EMULATOR_AWS_ENV, ensureVirtualenv, reapplyHttpApiCors, startEmulator, stopEmulator } from '../../localstack/ministack.js';
import { type DeployResult, STACK_TEMPLATE, deployLocalStack } from './deploy.js';
import { quietSdkNodeVersionWarning } from './sdk-warning.js';

export interface LocalStack extends DeployResult {
  /** True when this process started the emulator (and so should stop it). */
  startedEmulator: boolean;
  emulator: Emulator;
}

/** Points this process's AWS SDKs and child processes at the emulator. */
export function useEmulatorEnvironment(): NodeJS.ProcessEnv {
  quietSdkNodeVersionWarning();
  for (const [key, value] of Object.entries(EMULATOR_AWS_ENV)) process.env[key] ??= value;
  return process.env;
}

/**
 * The emulator to deploy on. One the caller named with AWS_ENDPOINT_URL must already answer:
 * the harness never starts MiniStack in place of the caller's LocalStack. Without
 * AWS_ENDPOINT_URL, a MiniStack answering on FLASHLINE_EMULATOR_PORT is reused, else started.
 */
async function ensureEmulator(
  callerEnv: Record<string, string | undefined>,
  options: { persist: boolean; log: (line: string) => void },
): Promise<{ emulator: Emulator; startedEmulator: boolean }> {
  const { endpoint, chosenByCaller } = emulatorEndpointFrom(callerEnv);
  const forced = forcedEmulatorKind(process.env);
  const found = await detectEmulator(endpoint);
  if (found) return { emulator: forced ? { ...found, kind: forced } : found, startedEmulator: false };
  if (chosenByCaller) {
    throw new Error(`AWS_ENDPOINT_URL=${endpoint} answers neither as MiniStack nor as LocalStack: start that emulator first, or unset AWS_ENDPOINT_URL to let the harness run MiniStack`);
  }
  if (forced && !workaroundsFor(forced).canStartLocally) throw new Error(`FLASHLINE_EMULATOR=${forced}: nothing answers at ${endpoint}, and the harness starts only MiniStack`);
  ensureVirtualenv(options.log);
  options.log('Starting the local emulator …');
  await startEmulator({ persist: options.persist });
  return { emulator: { kind: 'ministack', endpoint }, startedEmulator: true };
}

/** Emulator up (reusing one that answers), the real CDK stack deployed on it, outputs read. */
export async function ensureLocalStack(options: { persist: boolean; log?: (line: string) => void }): Promise<LocalStack> {
  const log = options.log ?? console.log;
  // What the caller chose, before this process fills in the emulator defaults.
  const callerEnv = { ...process.env };
  const env = useEmulatorEnvironment();
  const { emulator, startedEmulator } = await ensureEmulator(callerEnv, { persist: options.persist, log });
  if (!startedEmulator) log(`Using ${emulator.kind}${emulator.version ? ` ${emulator.version}` : ''}${emulator.edition ? ` (${emulator.edition})` : ''} at ${emulator.endpoint}`);
  try {
    const result = await deployLocalStack(env, emulator, log);
    if (workaroundsFor(emulator.kind).reapplyHttpApiCors) await reapplyHttpApiCors(result.outputs.apiId, STACK_TEMPLATE);
    return { ...result, startedEmulator, emulator };
  } catch (error) {
    // Leave nothing running behind a failed start.
    if (startedEmulator) stopEmulator();
    throw error;
  }
}
