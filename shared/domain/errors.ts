/**
 * Typed errors of the domain. Each carries the HTTP status and the stable, machine-readable
 * `code` of the API contract; `shared/http/error-mapping.ts` is the one place that turns them
 * into responses.
 */
export interface ValidationIssue {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(issues: ValidationIssue[], message = describeIssues(issues)) {
    super(400, 'invalid_request', message, { issues });
  }
}

/** A 400 with its own code, for rules the schema alone cannot express (e.g. `encryption_required`). */
export class BadRequestError extends AppError {
  constructor(code: string, message: string, issues: ValidationIssue[]) {
    super(400, code, message, { issues });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid bearer token is required') {
    super(401, 'unauthenticated', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Your role does not allow this') {
    super(403, 'forbidden', message);
  }
}

/** Also used for every object of another account: never reveal that it exists. */
export class NotFoundError extends AppError {
  constructor(what: string, message = `${what} not found`) {
    super(404, 'not_found', message);
  }
}

/**
 * A 404 for an id in the body that names nothing of this account (a factory a key is to be
 * limited to): what exists is the account's state, not the schema's to know, and another
 * account's object answers the same. `details.issues` names the field.
 */
export class UnknownReferenceError extends AppError {
  constructor(issues: ValidationIssue[]) {
    super(404, 'not_found', describeIssues(issues), { issues });
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}

/**
 * A 409 for a well-formed request that does not fit the stored state of what it names (UIDs sent
 * for a job whose uidPolicy is none, a serial its authorization did not grant, rows whose header
 * is not the list's columns): the same body could be right for another object, so it is a
 * conflict with this one's state, not a 400. `details.issues` still names the field.
 */
export class StateConflictError extends ConflictError {
  constructor(code: string, message: string, issues: ValidationIssue[], details?: Record<string, unknown>) {
    super(code, message, { issues, ...details });
  }
}

/**
 * The cloud is busy (AWS throttled us or transactions kept conflicting) and nothing was written
 * that a retry would count twice: the caller retries after `retryAfterSeconds`.
 */
export class ThrottledError extends AppError {
  constructor(
    readonly retryAfterSeconds = 1,
    message = 'Too many requests right now; retry with backoff',
  ) {
    super(429, 'throttled', message, { retryAfterSeconds });
  }
}

/** A known path asked with a method it does not have; the response's `Allow` header lists those it has (RFC 9110). */
export class MethodNotAllowedError extends AppError {
  constructor(
    method: string,
    path: string,
    readonly allowed: readonly string[],
  ) {
    super(405, 'method_not_allowed', `${method} is not allowed on ${path}; it allows ${allowed.join(', ')}`, { allowed: [...allowed] });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super(413, 'payload_too_large', message, details);
  }

  static bytes(limitBytes: number): PayloadTooLargeError {
    return new PayloadTooLargeError(`The request body exceeds ${limitBytes} bytes`, { limitBytes });
  }

  static items(field: string, max: number): PayloadTooLargeError {
    return new PayloadTooLargeError(`At most ${max} ${field} a request`, { field, max });
  }
}

function describeIssues(issues: ValidationIssue[]): string {
  const first = issues[0];
  if (!first) return 'The request is invalid';
  const where = first.path === '' ? 'body' : first.path;
  return issues.length === 1 ? `${where}: ${first.message}` : `${where}: ${first.message} (and ${issues.length - 1} more)`;
}
