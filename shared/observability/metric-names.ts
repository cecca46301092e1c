/**
 * The EMF metrics the functions emit and the dashboard and alarms read: one list, so a renamed
 * metric cannot leave a silent graph behind. Dimensions are the function's `service` (always)
 * and, for refusals only, the error `code` — a bounded set from the contract. Never a job,
 * serial, account or programmer: each distinct value would be a custom metric of its own (billed
 * monthly) and an unbounded one would never stop growing. Those belong in log lines.
 */
export const METRICS_NAMESPACE = 'Flashline';

export const METRIC = {
  /** Authorizations granted (new ones; a replayed nonce is not counted again). */
  authorizations: 'Authorizations',
  unitsAuthorized: 'UnitsAuthorized',
  /** Results recorded for the first time (duplicates of a retried report are not counted). */
  unitsSucceeded: 'UnitsSucceeded',
  unitsFailed: 'UnitsFailed',
  /** Units given back to their job by a release. */
  unitsReturned: 'UnitsReturned',
  /** 4xx answers, by `code`. */
  refusals: 'Refusals',
  /** 429 answers: AWS throttling that outlasted the store's retries, or a rate limit. */
  throttles: 'Throttles',
  /** KMS calls (sign, public key) that failed. */
  kmsErrors: 'KmsErrors',
  /** Bearer tokens the authorizer did not recognise (malformed, unknown, revoked): guessing shows here. */
  tokensRefused: 'TokensRefused',
  /** Image verifier outcomes per uploaded object version. */
  uploadsAvailable: 'UploadsAvailable',
  uploadsRejected: 'UploadsRejected',
  uploadsFailed: 'UploadsFailed',
  /** Events derived from the change stream, and webhook delivery attempts by outcome. */
  eventsPublished: 'EventsPublished',
  webhookDelivered: 'WebhookDelivered',
  webhookAttemptsFailed: 'WebhookAttemptsFailed',
  /** Deliveries that found no success within 24 hours (also in the dead-letter queue). */
  webhookDeadLettered: 'WebhookDeadLettered',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The only dimension names a metric may carry besides `service`. */
export const METRIC_DIMENSIONS = ['code'] as const;
export type MetricDimension = (typeof METRIC_DIMENSIONS)[number];
