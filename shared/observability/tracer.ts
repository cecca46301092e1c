import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Powertools Tracer: the SDK clients (shared/store/clients.ts) are captured with it, so each AWS
 * call is an X-Ray subsegment of the function's trace (Lambda's active tracing makes the
 * segment). The device function's bundle replaces this package with shared/aws-lean/tracer.ts:
 * its lean clients report their subsegments themselves (shared/aws-lean/xray.ts).
 */
export const tracer = new Tracer();
