import { ApiGatewayV2Client, GetAuthorizersCommand } from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { API_STACK_NAME } from '../../scripts/lib/stack.js';

/** A deployed function as the emulator runs it: its resolved environment and configured memory. */
export interface DeployedFunction {
  logicalId: string;
  functionName: string;
  memoryMb: number;
  architecture: string;
  environment: Record<string, string>;
}

export interface DeployedApi {
  /** The device routes other than creating authorizations (functions/device-api). */
  device: DeployedFunction;
  /** POST /v1/device/authorizations (functions/device-authorizations). */
  authorizations: DeployedFunction;
  authorizer: DeployedFunction;
  /** How long API Gateway caches an authorizer answer per token (0: every request runs it). */
  authorizerTtlSeconds: number;
}

/**
 * Reads what the in-process cost model must reproduce from the deployed stack itself (never
 * from constants): the device and authorizer functions' environment variables (table names,
 * key ids, bucket — whatever the current infra passes) and memory, and the authorizer cache TTL.
 * Emulator only: the Lambda configuration is read through the emulator's unsigned REST API.
 */
export async function readDeployedApi(apiId: string): Promise<DeployedApi> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint || !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(endpoint)) throw new Error('The bench only runs against a local emulator (AWS_ENDPOINT_URL on 127.0.0.1)');
  const { StackResources } = await new CloudFormationClient({}).send(new DescribeStackResourcesCommand({ StackName: API_STACK_NAME }));
  const functionOf = async (logicalPrefix: string): Promise<DeployedFunction> => {
    const resource = (StackResources ?? []).find(
      (r) => r.ResourceType === 'AWS::Lambda::Function' && new RegExp(`^${logicalPrefix}[0-9A-F]{8}$`).test(r.LogicalResourceId ?? ''),
    );
    if (!resource?.PhysicalResourceId) throw new Error(`Stack ${API_STACK_NAME} has no function ${logicalPrefix}`);
    const response = await fetch(`${endpoint.replace(/\/$/, '')}/2015-03-31/functions/${encodeURIComponent(resource.PhysicalResourceId)}/configuration`);
    if (!response.ok) throw new Error(`GetFunctionConfiguration ${resource.PhysicalResourceId} answered ${response.status}`);
    const config = (await response.json()) as { MemorySize?: number; Architectures?: string[]; Environment?: { Variables?: Record<string, string> } };
    return {
      logicalId: resource.LogicalResourceId!,
      functionName: resource.PhysicalResourceId,
      memoryMb: config.MemorySize ?? 128,
      architecture: config.Architectures?.[0] ?? 'x86_64',
      environment: config.Environment?.Variables ?? {},
    };
  };
  return {
    device: await functionOf('DeviceApi'),
    authorizations: await functionOf('DeviceAuthorizations'),
    authorizer: await functionOf('Authorizer'),
    authorizerTtlSeconds: await authorizerTtlSeconds(endpoint, apiId),
  };
}

/** The authorizer cache TTL of either flavour: an HTTP API's (v2 SDK), else a REST API's (the emulator's unsigned v1 REST API, as for Lambda above). */
async function authorizerTtlSeconds(endpoint: string, apiId: string): Promise<number> {
  try {
    const { Items } = await new ApiGatewayV2Client({}).send(new GetAuthorizersCommand({ ApiId: apiId }));
    return Items?.[0]?.AuthorizerResultTtlInSeconds ?? 0;
  } catch (error) {
    if ((error as Error).name !== 'NotFoundException') throw error;
  }
  const response = await fetch(`${endpoint.replace(/\/$/, '')}/restapis/${encodeURIComponent(apiId)}/authorizers`);
  if (!response.ok) throw new Error(`GetAuthorizers of REST API ${apiId} answered ${response.status}`);
  const { item } = (await response.json()) as { item?: { authorizerResultTtlInSeconds?: number }[] };
  return item?.[0]?.authorizerResultTtlInSeconds ?? 0;
}
