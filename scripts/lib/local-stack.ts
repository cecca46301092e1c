import { EMULATOR_AWS_ENV, ensureVirtualenv, isEmulatorUp, reapplyHttpApiCors, startEmulator, stopEmulator } from '../../localstack/ministack.js';
import { type DeployResult, STACK_TEMPLATE, deployLocalStack } from './deploy.js';
import { quietSdkNodeVersionWarning } from './sdk-warning.js';

export interface LocalStack extends DeployResult {
  /** True when this process started the emulator (and so should stop it). */
  startedEmulator: boolean;
}

/** Points this process's AWS SDKs and child processes at the emulator. */
export function useEmulatorEnvironment(): NodeJS.ProcessEnv {
  quietSdkNodeVersionWarning();
  for (const [key, value] of Object.entries(EMULATOR_AWS_ENV)) process.env[key] ??= value;
  return process.env;
}

/** Emulator up (reusing one that answers), the real CDK stack deployed on it, outputs read. */
export async function ensureLocalStack(options: { persist: boolean; log?: (line: string) => void }): Promise<LocalStack> {
  const log = options.log ?? console.log;
  const env = useEmulatorEnvironment();
  let startedEmulator = false;
  if (!(await isEmulatorUp())) {
    ensureVirtualenv(log);
    log('Starting the local emulator …');
    await startEmulator({ persist: options.persist });
    startedEmulator = true;
  }
  try {
    const result = await deployLocalStack(env, log);
    await reapplyHttpApiCors(result.outputs.apiId, STACK_TEMPLATE);
    return { ...result, startedEmulator };
  } catch (error) {
    // Leave nothing running behind a failed start.
    if (startedEmulator) stopEmulator();
    throw error;
  }
}
