/**
 * Stands in for `@aws-lambda-powertools/tracer` in the device function's bundle (the alias in
 * infra/constructs/function-bundling.ts): Powertools Tracer brings aws-xray-sdk-core, measured
 * at +134 kB and +54 ms of module init there. The lean AWS clients, which that bundle uses
 * instead of the SDK's, send each call's X-Ray subsegment themselves (xray.ts), so capturing a
 * client is the identity. Only what our code calls is here: a new use fails the device build.
 */
export class Tracer {
  captureAWSv3Client<T>(client: T): T {
    return client;
  }
}
