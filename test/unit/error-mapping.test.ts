import { describe, expect, it } from 'vitest';
import {
  AppError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  ThrottledError,
  UnauthenticatedError,
  ValidationError,
} from '../../shared/domain/errors.js';
import { errorToResponse } from '../../shared/http/error-mapping.js';

const bodyOf = (error: unknown) => {
  const { response } = errorToResponse(error);
  return JSON.parse(response.body as string) as { error: { code: string; message: string; details?: Record<string, unknown> } };
};

describe('errorToResponse', () => {
  it.each([
    [new ValidationError([{ path: 'name', message: 'Required' }]), 400, 'invalid_request'],
    [new BadRequestError('encryption_required', 'needs a key', [{ path: 'encryptionKeyId', message: 'required' }]), 400, 'encryption_required'],
    [new UnauthenticatedError(), 401, 'unauthenticated'],
    [new ForbiddenError(), 403, 'forbidden'],
    [new NotFoundError('Factory'), 404, 'not_found'],
    [new ConflictError('name_taken', 'taken', { name: 'x' }), 409, 'name_taken'],
    [PayloadTooLargeError.bytes(65_536), 413, 'payload_too_large'],
    [new AppError(405, 'method_not_allowed', 'no'), 405, 'method_not_allowed'],
  ])('keeps the status and code of a typed error (%s)', (error, status, code) => {
    const { response, unexpected } = errorToResponse(error);
    expect(unexpected).toBe(false);
    expect(response.statusCode).toBe(status);
    expect(response.headers?.['content-type']).toMatch(/^application\/json/);
    expect(bodyOf(error).error).toMatchObject({ code, message: (error as Error).message });
  });

  it('passes the details of a typed error through, and leaves them out when there are none', () => {
    expect(bodyOf(new ValidationError([{ path: 'settings.level', message: 'Too big' }])).error.details).toEqual({
      issues: [{ path: 'settings.level', message: 'Too big' }],
    });
    expect(bodyOf(new ConflictError('factory_not_empty', 'not empty', { programmerCount: 2 })).error.details).toEqual({ programmerCount: 2 });
    expect(bodyOf(new ForbiddenError())).not.toHaveProperty('error.details');
  });

  it('answers any other error with a 500 that carries nothing of the cause', () => {
    const secret = new Error('connect ECONNREFUSED 10.0.0.7:5432 table=prod-entities key=ACCT#acc_1');
    secret.name = 'ResourceNotFoundException';
    const { response, unexpected } = errorToResponse(secret);
    expect(unexpected).toBe(true);
    expect(response.statusCode).toBe(500);
    const text = response.body as string;
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    for (const leak of ['ECONNREFUSED', '10.0.0.7', 'prod-entities', 'ACCT#', 'ResourceNotFoundException', 'at ']) expect(text).not.toContain(leak);
  });

  it.each([undefined, null, 'a string', 42, { message: 'an object' }])('maps a non-Error throw (%s) to the same opaque 500', (thrown) => {
    const { response, unexpected } = errorToResponse(thrown);
    expect(unexpected).toBe(true);
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body as string).error.code).toBe('internal_error');
  });

  it.each(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'TooManyRequestsException'])(
    'maps AWS throttling (%s) to 429 throttled with Retry-After',
    (name) => {
      const error = new Error('Rate exceeded for arn:aws:dynamodb:us-east-1:123456789012:table/x');
      error.name = name;
      const { response, unexpected } = errorToResponse(error);
      expect(unexpected).toBe(false);
      expect(response.statusCode).toBe(429);
      expect(response.headers?.['retry-after']).toBe('1');
      expect(JSON.parse(response.body as string)).toEqual({ error: { code: 'throttled', message: expect.any(String), details: { retryAfterSeconds: 1 } } });
      expect(response.body).not.toContain('arn:aws');
    },
  );

  it('gives a ThrottledError its own Retry-After', () => {
    const { response } = errorToResponse(new ThrottledError(3));
    expect(response.statusCode).toBe(429);
    expect(response.headers?.['retry-after']).toBe('3');
  });
});
