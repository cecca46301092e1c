import { randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';

/**
 * X-Ray subsegments for the lean AWS clients, the way the X-Ray SDK reports an instrumented SDK
 * call: one `aws` subsegment per operation (retries included), under the function's segment,
 * sent over UDP to the daemon Lambda runs beside the function. The device function cannot carry
 * Powertools Tracer (aws-xray-sdk-core and its dependencies: +134 kB and +54 ms of module init,
 * measured), so it gets this instead; Lambda's active tracing makes the function's own segment.
 *
 * Nothing is sent unless Lambda says the invocation is sampled (`_X_AMZN_TRACE_ID`, set per
 * invocation); a lost datagram loses a subsegment, never a request.
 */
export interface TraceContext {
  traceId: string;
  parentId: string;
}

/** `Root=1-…;Parent=…;Sampled=1` → the ids, when sampled. */
export function sampledTraceContext(header = process.env._X_AMZN_TRACE_ID): TraceContext | undefined {
  if (!header) return undefined;
  const fields = Object.fromEntries(header.split(';').map((part) => part.split('=', 2) as [string, string]));
  if (fields.Sampled !== '1' || !fields.Root || !fields.Parent) return undefined;
  return { traceId: fields.Root, parentId: fields.Parent };
}

/** `169.254.79.129:2000`, or `udp:host:port tcp:host:port` (the daemon address formats). */
export function daemonAddress(value = process.env.AWS_XRAY_DAEMON_ADDRESS ?? '127.0.0.1:2000'): { host: string; port: number } {
  const udp = value.split(' ').find((part) => part.startsWith('udp:'))?.slice(4) ?? value.split(' ')[0]!;
  const separator = udp.lastIndexOf(':');
  return { host: udp.slice(0, separator), port: Number(udp.slice(separator + 1)) };
}

export interface AwsCallRecord {
  service: string;
  operation: string;
  region: string;
  startedAt: number;
  endedAt: number;
  httpStatus?: number;
  requestId?: string;
  retries: number;
  tableName?: string;
  /** The error's name when the call failed. */
  error?: string;
  throttled?: boolean;
}

/** The subsegment document of one call (exported for its unit test). */
export function subsegmentOf(call: AwsCallRecord, context: TraceContext): Record<string, unknown> {
  const status = call.httpStatus;
  return {
    name: call.service,
    id: randomBytes(8).toString('hex'),
    trace_id: context.traceId,
    parent_id: context.parentId,
    type: 'subsegment',
    namespace: 'aws',
    start_time: call.startedAt / 1000,
    end_time: call.endedAt / 1000,
    aws: { operation: call.operation, region: call.region, request_id: call.requestId, retries: call.retries, ...(call.tableName && { table_name: call.tableName }) },
    ...(status !== undefined && { http: { response: { status } } }),
    ...(call.throttled && { throttle: true }),
    ...(call.error && (status !== undefined && status >= 500 ? { fault: true } : { error: true })),
    ...(call.error && { cause: { exceptions: [{ id: randomBytes(8).toString('hex'), type: call.error, message: call.error }] } }),
  };
}

let socket: Socket | undefined;

/** Sends one call's subsegment if the invocation is sampled. */
export function recordAwsCall(call: AwsCallRecord): void {
  const context = sampledTraceContext();
  if (!context) return;
  socket ??= createSocket('udp4').unref();
  const { host, port } = daemonAddress();
  const message = `{"format":"json","version":1}\n${JSON.stringify(subsegmentOf(call, context))}`;
  socket.send(message, port, host, () => {
    // Fire and forget: tracing must never fail or slow a request.
  });
}
