/**
 * Webhook rules (api.md "Events and webhooks"): which URLs may receive deliveries, which
 * addresses a delivery may connect to, and when a failed delivery is tried again. Pure.
 */
import { BlockList, isIP } from 'node:net';

/** Webhooks an account may register: each event is delivered to each subscriber. */
export const MAX_WEBHOOKS_PER_ACCOUNT = 20;

/** A receiver answers quickly or the attempt fails (Standard Webhooks: acknowledge, then work). */
export const DELIVERY_TIMEOUT_MS = 5_000;

/** Retried until this long after the first attempt, then dead-lettered. */
export const DELIVERY_WINDOW_SECONDS = 24 * 3600;

/**
 * Seconds before attempt `attempt + 1` after `attempt` failed: exponential (base × 3^(attempt−1)),
 * capped at two hours, so a receiver down for a day gets about a dozen attempts. Production
 * base 5 s (5 s, 15 s, 45 s, 2¼ min, …); the local stack uses 1 s so tests see retries in seconds.
 */
export function retryDelaySeconds(attempt: number, baseSeconds: number): number {
  return Math.min(baseSeconds * 3 ** Math.max(0, attempt - 1), 2 * 3600);
}

/** When the next attempt is due, or undefined when the delivery window is over (dead-letter it). */
export function nextAttemptAt(firstAttemptAt: Date, attempt: number, now: Date, baseSeconds: number): Date | undefined {
  const next = new Date(now.getTime() + retryDelaySeconds(attempt, baseSeconds) * 1000);
  return next.getTime() - firstAttemptAt.getTime() > DELIVERY_WINDOW_SECONDS * 1000 ? undefined : next;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Problems with a webhook URL as registered: https only, no credentials in it; plain http only to
 * localhost/127.0.0.1, and only where the stack allows private receivers (the local stack).
 */
export function webhookUrlProblems(raw: string, allowPrivate: boolean): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return ['must be an absolute URL'];
  }
  const local = LOCAL_HOSTS.has(url.hostname);
  if (url.username || url.password) return ['must not carry credentials'];
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local && allowPrivate)) return ['must use https'];
  if (!allowPrivate && (local || (isIP(stripBrackets(url.hostname)) !== 0 && isPrivateAddress(stripBrackets(url.hostname))))) {
    return ['must not name a private, loopback or link-local address'];
  }
  return [];
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/**
 * Whether a delivery must not connect to this address: private, loopback, link-local (the cloud
 * metadata service), carrier-grade NAT, multicast, reserved; IPv4-mapped IPv6 counts as its IPv4.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1] as string, 'ipv4');
  return PRIVATE.check(address, 'ipv6');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}
