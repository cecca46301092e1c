import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { type Emulator, detectEmulator, executeApiUrl, forcedEmulatorKind } from '../../localstack/emulator.js';
import { STACK_NAMES } from '../../infra/stack-names.js';

/** The stateful stack (tables, bucket, keys): `--stack` of the admin commands names this one. */
export const STACK_NAME = STACK_NAMES.stateful;
/** The stateless stack (functions, API, alarms). */
export const API_STACK_NAME = STACK_NAMES.stateless;

export interface StackOutputs {
  apiUrl: string;
  apiId: string;
  tableName: string;
  eventsTableName: string;
  imagesBucketName: string;
  signingKeyId: string;
  ticketKeyId: string;
  /** The presence check (events pipeline): tests invoke it with a scheduled event's `time`. */
  presenceCheckFunctionName: string;
  /** Where alarms notify (pagers and emails subscribe to it). */
  alarmTopicArn: string;
  /** People's user pool (absent with `-c people=off`): the console's sign-in and the tests' users. */
  people?: { userPoolId: string; clientId: string; signInUrl: string };
}

/** The emulator AWS_ENDPOINT_URL names, if it names one (undefined on AWS). */
async function ambientEmulator(): Promise<Emulator | undefined> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) return undefined;
  const found = await detectEmulator(endpoint);
  const forced = forcedEmulatorKind(process.env);
  return found && forced ? { ...found, kind: forced } : found;
}

async function outputsOf(cfn: CloudFormationClient, stackName: string): Promise<Record<string, string>> {
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue ?? '']));
}

/**
 * Reads the deployed stacks' outputs with the ambient AWS configuration: the data from the
 * stateful stack (`stackName`), the API from the stateless one. On an emulator the API is
 * served where that emulator serves it (scripts/lib/deploy.ts passes the same URL to the stack
 * for the credentials files it hands out).
 */
export async function readStackOutputs(stackName: string = STACK_NAME, apiStackName: string = API_STACK_NAME, emulator?: Emulator): Promise<StackOutputs> {
  const cfn = new CloudFormationClient({});
  const [data, api] = await Promise.all([outputsOf(cfn, stackName), outputsOf(cfn, apiStackName)]);
  const need = (outputs: Record<string, string>, name: string, key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`Stack ${name} has no output ${key}; is it deployed?`);
    return value;
  };
  const apiId = need(api, apiStackName, 'ApiId');
  const servedBy = emulator ?? (await ambientEmulator());
  return {
    // Only the REST flavour has a stage segment (ApiStage); the HTTP API serves `$default`.
    apiUrl: servedBy ? executeApiUrl(servedBy, apiId, api.ApiStage || undefined) : need(api, apiStackName, 'ApiUrl'),
    apiId,
    tableName: need(data, stackName, 'TableName'),
    eventsTableName: need(data, stackName, 'EventsTableName'),
    imagesBucketName: need(data, stackName, 'ImagesBucketName'),
    signingKeyId: need(data, stackName, 'SigningKeyId'),
    ticketKeyId: need(data, stackName, 'TicketKeyId'),
    presenceCheckFunctionName: need(api, apiStackName, 'PresenceCheckFunctionName'),
    alarmTopicArn: need(api, apiStackName, 'AlarmTopicArn'),
    ...(data.PeopleUserPoolId ? { people: { userPoolId: data.PeopleUserPoolId, clientId: need(data, stackName, 'PeopleClientId'), signInUrl: need(data, stackName, 'PeopleSignInUrl') } } : {}),
  };
}
