import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { type Emulator, detectEmulator, executeApiUrl, forcedEmulatorKind } from '../../localstack/emulator.js';

export const STACK_NAME = 'Flashline';

export interface StackOutputs {
  apiUrl: string;
  apiId: string;
  tableName: string;
  eventsTableName: string;
  imagesBucketName: string;
  signingKeyId: string;
  ticketKeyId: string;
}

/** The emulator AWS_ENDPOINT_URL names, if it names one (undefined on AWS). */
async function ambientEmulator(): Promise<Emulator | undefined> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) return undefined;
  const found = await detectEmulator(endpoint);
  const forced = forcedEmulatorKind(process.env);
  return found && forced ? { ...found, kind: forced } : found;
}

/**
 * Reads the deployed stack's outputs with the ambient AWS configuration. On an emulator the API
 * is served where that emulator serves it (scripts/lib/deploy.ts passes the same URL to the
 * stack for the credentials files it hands out).
 */
export async function readStackOutputs(stackName = STACK_NAME, emulator?: Emulator): Promise<StackOutputs> {
  const cfn = new CloudFormationClient({});
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue ?? '']));
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`Stack ${stackName} has no output ${key}; is it deployed?`);
    return value;
  };
  const apiId = need('ApiId');
  const servedBy = emulator ?? (await ambientEmulator());
  return {
    apiUrl: servedBy ? executeApiUrl(servedBy, apiId) : need('ApiUrl'),
    apiId,
    tableName: need('TableName'),
    eventsTableName: need('EventsTableName'),
    imagesBucketName: need('ImagesBucketName'),
    signingKeyId: need('SigningKeyId'),
    ticketKeyId: need('TicketKeyId'),
  };
}
