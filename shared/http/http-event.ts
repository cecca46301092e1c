import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** HTTP API (payload 2.0): the simple-response authorizer's context arrives under `authorizer.lambda`. */
export type HttpApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { lambda?: Record<string, unknown> } };
};

/** REST API (Lambda proxy, payload 1.0): a Lambda authorizer's context arrives flat in `authorizer`. */
export type RestApiEvent = APIGatewayProxyEvent;

/** Either API Gateway flavour (infra/constructs/http-api.ts builds both): the chain reads them through one view. */
export type HttpEvent = HttpApiEvent | RestApiEvent;

/** What both payload formats accept back: status, headers and an optional string body. */
export type ApiResponse = APIGatewayProxyStructuredResultV2;

/** The one view of a request that every middleware after the normalizer reads, whatever the gateway. */
export interface ApiRequestView {
  method: string;
  /** Without the stage: the route table's paths start at /v1. */
  path: string;
  query: Record<string, string>;
  body: string | undefined;
  isBase64Encoded: boolean;
  /** The context the Lambda authorizer returned; undefined on public routes (no authorizer ran). */
  callerContext: Record<string, unknown> | undefined;
  /** API Gateway's request id, which its access log carries too. */
  apiRequestId: string | undefined;
}

function isHttpApiEvent(event: HttpEvent): event is HttpApiEvent {
  return 'http' in event.requestContext;
}

export function viewOf(event: HttpEvent): ApiRequestView {
  const shared = { body: event.body ?? undefined, isBase64Encoded: event.isBase64Encoded ?? false, apiRequestId: event.requestContext.requestId };
  if (isHttpApiEvent(event)) {
    const { http, authorizer } = event.requestContext;
    return { ...shared, method: http.method.toUpperCase(), path: http.path, query: definedValues(event.queryStringParameters), callerContext: authorizer?.lambda };
  }
  // REST puts the authorizer's context beside its own keys (principalId, integrationLatency):
  // principalFromContext reads only the keys it knows.
  return {
    ...shared,
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    query: definedValues(event.queryStringParameters),
    callerContext: event.requestContext.authorizer ?? undefined,
  };
}

/** A request header by name, whatever its case (an HTTP API lowercases names, a REST API keeps the caller's). */
export function headerOf(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted && value !== undefined) return value;
  return undefined;
}

function definedValues(parameters: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters ?? {})) if (value !== undefined) values[name] = value;
  return values;
}
