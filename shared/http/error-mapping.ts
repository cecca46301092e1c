import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AppError } from '../domain/errors.js';

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
  if (error instanceof AppError) {
    const body = { error: { code: error.code, message: error.message, ...(error.details && { details: error.details }) } };
    return { response: jsonResponse(error.status, body), unexpected: false };
  }
  if (error instanceof Error && THROTTLING_ERRORS.has(error.name)) {
    const body = { error: { code: 'throttled', message: 'Too many requests right now; retry with backoff' } };
    return { response: { ...jsonResponse(429, body), headers: { ...JSON_HEADERS, 'retry-after': '1' } }, unexpected: false };
  }
  return {
    response: jsonResponse(500, { error: { code: 'internal_error', message: 'Something went wrong on our side; it has been logged' } }),
    unexpected: true,
  };
}
