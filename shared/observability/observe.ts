import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { type HttpEvent, viewOf } from '../http/http-event.js';
import { logger } from '../http/logger.js';
import { METRIC } from './metric-names.js';
import { count, countRefusal, publishMetrics } from './metrics.js';

/** Log keys that tie a line to its request: ids only, never a token, secret or request body. */
export type CorrelationKeys = Record<string, string | undefined>;

/**
 * Every function entry, wrapped: the Lambda context on every log line (function, request id,
 * cold start), the entry's correlation ids, and the invocation's metrics flushed as EMF at the
 * end, whatever happens. Keys are reset per invocation: a warm container must not lend one
 * request's account to the next.
 */
export function observed<E, R>(handler: (event: E, context: Context) => Promise<R>, keysOf: (event: E) => CorrelationKeys) {
  return async (event: E, context: Context): Promise<R> => {
    logger.resetKeys();
    logger.addContext(context);
    logger.appendKeys(keysOf(event));
    try {
      return await handler(event, context);
    } finally {
      publishMetrics();
    }
  };
}

/** The authorizer's context names the caller (principal.ts); the API Gateway request id ties the access log to the function's lines. */
export function httpCorrelationKeys(event: HttpEvent): CorrelationKeys {
  const { callerContext = {}, apiRequestId } = viewOf(event);
  const id = (key: string) => (typeof callerContext[key] === 'string' ? (callerContext[key] as string) : undefined);
  return { apiRequestId, accountId: id('accountId'), programmerId: id('programmerId'), keyId: id('keyId') };
}

/**
 * An API function: observed, and its refusals counted by code (429 `throttled` also as a
 * throttle). Read from the answer the error mapping made, so every refusal is counted once,
 * whichever layer refused.
 */
export function observedHttpHandler<E extends HttpEvent>(handler: (event: E, context: Context) => Promise<APIGatewayProxyStructuredResultV2>) {
  return observed(async (event: E, context: Context) => {
    const response = await handler(event, context);
    countAnswer(response);
    return response;
  }, httpCorrelationKeys);
}

function countAnswer(response: APIGatewayProxyStructuredResultV2): void {
  const status = response.statusCode ?? 200;
  if (status < 400 || status >= 500) return;
  const code = errorCodeOf(response.body) ?? `http_${status}`;
  if (code === 'throttled') count(METRIC.throttles);
  countRefusal(code);
}

/** `{"error":{"code":…}}`, the one error body (shared/http/error-mapping.ts). */
function errorCodeOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
