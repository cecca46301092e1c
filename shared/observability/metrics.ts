import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRIC, METRICS_NAMESPACE, type MetricName } from './metric-names.js';

/**
 * One EMF buffer per container, flushed at the end of each invocation (observe.ts). Its one
 * default dimension is `service` (POWERTOOLS_SERVICE_NAME, the function). Nothing here takes a
 * job, serial, account or programmer: see metric-names.ts for why, and the unit test that holds it.
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE });

export function count(name: MetricName, value = 1): void {
  if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
}

/** A 4xx answer. Its own EMF line: the `code` dimension must not attach to the invocation's other metrics. */
export function countRefusal(code: string): void {
  metrics.singleMetric().addDimension('code', code).addMetric(METRIC.refusals, MetricUnit.Count, 1);
}

/** A new authorization (a replayed nonce returns the stored one and is not counted again). */
export function countAuthorization(units: number): void {
  count(METRIC.authorizations);
  count(METRIC.unitsAuthorized, units);
}

/** Results recorded for the first time: duplicates of a retried report count nothing. */
export function countResults(recorded: number, failed: number): void {
  count(METRIC.unitsSucceeded, recorded - failed);
  count(METRIC.unitsFailed, failed);
}

/** Writes the invocation's metrics, if it had any (Powertools warns on an empty flush). */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
