import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type LookupFunction, isIP } from 'node:net';
import { isPrivateAddress } from '../domain/webhooks.js';

export interface SendOutcome {
  status: number | null;
  error: string | null;
  durationMs: number;
}

export type WebhookSender = (url: string, headers: Record<string, string>, body: string) => Promise<SendOutcome>;

/**
 * POSTs a delivery. The address is checked where the connection is made (the socket's own DNS
 * lookup), so a name that resolves to a private, loopback or link-local address — also one
 * that changed since registration — is refused; redirects are never followed (a 3xx is a failed
 * attempt); the whole attempt ends after `timeoutMs`.
 */
export function httpWebhookSender(options: { allowPrivate: boolean; timeoutMs: number }): WebhookSender {
  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = options.allowPrivate ? undefined : addresses.find(({ address }) => isPrivateAddress(address));
      if (refused || addresses.length === 0) return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: 'EPRIVATE' }), '', 0);
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
  return (url, headers, body) =>
    new Promise((resolve) => {
      const started = Date.now();
      const done = (status: number | null, error: string | null) => resolve({ status, error, durationMs: Date.now() - started });
      const target = new URL(url);
      const host = target.hostname.replace(/^\[|\]$/g, '');
      // An address literal never reaches the lookup: check it here.
      if (!options.allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) return done(null, 'refused: private address');
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(
        target,
        { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Flashline-Webhooks/1' }, lookup: guardedLookup, timeout: options.timeoutMs },
        (response) => {
          response.resume();
          const status = response.statusCode ?? 0;
          response.on('end', () => done(status, status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? 'redirect not followed' : `HTTP ${status}`));
          response.on('error', (error) => done(status, error.message));
        },
      );
      // Headers that never come and bodies that trickle both end the attempt.
      const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
      request.on('error', (error) => done(null, (error as NodeJS.ErrnoException).code === 'EPRIVATE' ? `refused: ${error.message}` : error.message));
      request.on('close', () => clearTimeout(deadline));
      request.end(body);
    });
}
