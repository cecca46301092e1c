import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
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
}

async function outputsOf(cfn: CloudFormationClient, stackName: string): Promise<Record<string, string>> {
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  return Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue ?? '']));
}

/**
 * Reads the deployed stacks' outputs with the ambient AWS configuration: the data from the
 * stateful stack (`stackName`), the API from the stateless one. Against a local emulator
 * (AWS_ENDPOINT_URL set) the API is served under the emulator's execute-api path.
 */
export async function readStackOutputs(stackName: string = STACK_NAME, apiStackName: string = API_STACK_NAME): Promise<StackOutputs> {
  const cfn = new CloudFormationClient({});
  const [data, api] = await Promise.all([outputsOf(cfn, stackName), outputsOf(cfn, apiStackName)]);
  const need = (outputs: Record<string, string>, name: string, key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`Stack ${name} has no output ${key}; is it deployed?`);
    return value;
  };
  const apiId = need(api, apiStackName, 'ApiId');
  const endpoint = process.env.AWS_ENDPOINT_URL;
  return {
    apiUrl: endpoint ? `${endpoint.replace(/\/$/, '')}/_aws/execute-api/${apiId}/` : need(api, apiStackName, 'ApiUrl'),
    apiId,
    tableName: need(data, stackName, 'TableName'),
    eventsTableName: need(data, stackName, 'EventsTableName'),
    imagesBucketName: need(data, stackName, 'ImagesBucketName'),
    signingKeyId: need(data, stackName, 'SigningKeyId'),
    ticketKeyId: need(data, stackName, 'TicketKeyId'),
  };
}
