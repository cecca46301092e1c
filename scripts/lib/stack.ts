import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

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

/**
 * Reads the deployed stack's outputs with the ambient AWS configuration. Against a local
 * emulator (AWS_ENDPOINT_URL set) the API is served under the emulator's execute-api path.
 */
export async function readStackOutputs(stackName = STACK_NAME): Promise<StackOutputs> {
  const cfn = new CloudFormationClient({});
  const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue ?? '']));
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`Stack ${stackName} has no output ${key}; is it deployed?`);
    return value;
  };
  const apiId = need('ApiId');
  const endpoint = process.env.AWS_ENDPOINT_URL;
  return {
    apiUrl: endpoint ? `${endpoint.replace(/\/$/, '')}/_aws/execute-api/${apiId}/` : need('ApiUrl'),
    apiId,
    tableName: need('TableName'),
    eventsTableName: need('EventsTableName'),
    imagesBucketName: need('ImagesBucketName'),
    signingKeyId: need('SigningKeyId'),
    ticketKeyId: need('TicketKeyId'),
  };
}
