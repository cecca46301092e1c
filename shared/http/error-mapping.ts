import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError, MethodNotAllowedError, ThrottledError } from '../domain/errors.js';

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

/** AWS throttling surfaces to callers as 429 so that clients back off instead of giving up. */
const THROTTLING_ERRORS = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'TooManyRequestsException']);

export function jsonResponse(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return body === undefined
    ? { statusCode: status, headers: { 'cache-control': 'no-store' } }
    : { statusCode: status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/**
 * The one mapping from errors to HTTP. Typed errors keep their status and code; anything else
 * is a 500 whose body says nothing about the cause (the cause goes to the log only).
 */
export function errorToResponse(error: unknown): { response: APIGatewayProxyStructuredResultV2; unexpected: boolean } {
  // An AWS throttle that escaped the retries of the store is still the caller's cue to back off.
  const typed = error instanceof Error && !(error instanceof AppError) && THROTTLING_ERRORS.has(error.name) ? new ThrottledError() : error;
  if (typed instanceof AppError) {
    const body = { error: { code: typed.code, message: typed.message, ...(typed.details && { details: typed.details }) } };
    const response = jsonResponse(typed.status, body);
    if (typed instanceof ThrottledError) response.headers = { ...response.headers, 'retry-after': String(typed.retryAfterSeconds) };
    if (typed instanceof MethodNotAllowedError) response.headers = { ...response.headers, allow: typed.allowed.join(', ') };
    return { response, unexpected: false };
  }
  return {
    response: jsonResponse(500, { error: { code: 'internal_error', message: 'Something went wrong on our side; it has been logged' } }),
    unexpected: true,
  };
}
