import type { TestProject } from 'vitest/node';
import { stopEmulator } from '../../localstack/ministack.js';
import { ensureLocalStack } from '../../scripts/lib/local-stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    tableName: string;
    eventsTableName: string;
    imagesBucketName: string;
    signingKeyId: string;
    ticketKeyId: string;
    presenceCheckFunctionName: string;
    alarmTopicArn: string;
    /** Empty strings when the stack has no user pool. */
    peopleUserPoolId: string;
    peopleClientId: string;
    peopleSignInUrl: string;
    /** 'ministack' or 'localstack' (localstack/emulator.ts): marks the tests that depend on an emulator's specifics. */
    emulatorKind: string;
  }
}

type LocalStack = Awaited<ReturnType<typeof ensureLocalStack>>;

/**
 * Vitest runs a project's global setup once per project (integration, integration-lean, e2e),
 * each in a module instance of its own; checking that the stack is up to date means a synth
 * (~1 min on 2 busy cores). The run's first project does it, the others reuse its answer.
 */
const sharedStack = globalThis as typeof globalThis & { flashlineLocalStack?: Promise<LocalStack> };

/**
 * Deploy once per test run: start the emulator unless one answers, deploy the real CDK stack
 * only when its template changed, and hand the outputs to the tests. Tests never deploy.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const first = !sharedStack.flashlineLocalStack;
  sharedStack.flashlineLocalStack ??= ensureLocalStack({ persist: false, log: (line) => console.log(`[e2e setup] ${line}`) });
  const stack = await sharedStack.flashlineLocalStack;
  if (first) console.log(`[e2e setup] stack ${stack.deployed ? `deployed in ${stack.seconds.toFixed(1)} s` : 'already up to date'}: ${stack.outputs.apiUrl}`);
  project.provide('apiUrl', stack.outputs.apiUrl);
  project.provide('tableName', stack.outputs.tableName);
  project.provide('eventsTableName', stack.outputs.eventsTableName);
  project.provide('imagesBucketName', stack.outputs.imagesBucketName);
  project.provide('signingKeyId', stack.outputs.signingKeyId);
  project.provide('ticketKeyId', stack.outputs.ticketKeyId);
  project.provide('presenceCheckFunctionName', stack.outputs.presenceCheckFunctionName);
  project.provide('alarmTopicArn', stack.outputs.alarmTopicArn);
  project.provide('peopleUserPoolId', stack.outputs.people?.userPoolId ?? '');
  project.provide('peopleClientId', stack.outputs.people?.clientId ?? '');
  project.provide('peopleSignInUrl', stack.outputs.people?.signInUrl ?? '');
  project.provide('emulatorKind', stack.emulator.kind);
  return () => {
    if (stack.startedEmulator) stopEmulator();
  };
}
