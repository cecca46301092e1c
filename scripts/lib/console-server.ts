import { existsSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { LOCAL_CONSOLE_PORT } from '../../infra/local-console-origins.js';
import { ROOT } from './deploy.js';

/**
 * The local console: a tiny static server for console/dist that also answers config.json.
 *
 * In `auto` mode the server asks the API for a preflight on start: when the API allows this
 * origin the browser calls it directly (as in AWS, and locally once the harness has re-sent the
 * API's CORS settings, see localstack/ministack.ts); otherwise (an origin the API does not
 * allow, an emulator that refuses every preflight) the server forwards `/v1/*` to the API
 * itself and the console calls its own origin, where CORS does not apply. Local use only; AWS
 * serves the console from CloudFront.
 */
export const DEFAULT_CONSOLE_PORT = LOCAL_CONSOLE_PORT;
export const CONSOLE_DIST = path.join(ROOT, 'console', 'dist');

export type ApiMode = 'direct' | 'proxy';

export interface ConsoleServerOptions {
  /** The API base URL, with a trailing slash. */
  apiUrl: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  distDir?: string;
  apiMode?: ApiMode | 'auto';
  /** The user pool's app client and Hosted UI (the stack's People outputs): people sign in there. */
  people?: { clientId: string; signInUrl: string };
  log?: (line: string) => void;
}

export interface ConsoleServer {
  url: string;
  origin: string;
  apiMode: ApiMode;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/** The largest request the proxy buffers: above every body limit of the API (256 KiB). */
const MAX_PROXY_BODY_BYTES = 1024 * 1024;

/** The same headers CloudFront adds in AWS, so a CSP mistake shows up locally first. */
function securityHeaders(connectSources: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connectSources}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

/** Asks the API whether a browser on `origin` may call it. */
export async function apiAllowsOrigin(apiUrl: string, origin: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('v1/account', apiUrl), {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      signal: AbortSignal.timeout(5000),
    });
    const allowed = response.headers.get('access-control-allow-origin');
    return response.ok && (allowed === origin || allowed === '*');
  } catch {
    return false;
  }
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const distDir = path.resolve(options.distDir ?? CONSOLE_DIST);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const apiUrl = options.apiUrl.endsWith('/') ? options.apiUrl : `${options.apiUrl}/`;
  if (!existsSync(path.join(distDir, 'index.html'))) throw new Error(`${distDir} has no index.html: build the console first (npx tsx console/build.ts)`);

  let apiMode: ApiMode = options.apiMode === 'direct' ? 'direct' : 'proxy';
  let origin = '';
  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      log(`console server: ${request.method} ${request.url} failed: ${error.message}`);
      if (!response.headersSent) sendJson(response, 500, { error: { code: 'console_server_error', message: 'The local console server failed' } });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://console.invalid');
    if (apiMode === 'proxy' && url.pathname.startsWith('/v1/')) return proxy(request, response, url);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    // The token endpoint of the user pool is called from the page (sign-in, refresh, sign-out).
    const signInOrigin = options.people ? ` ${new URL(options.people.signInUrl).origin}` : '';
    const headers = securityHeaders(`${apiMode === 'direct' ? `'self' ${new URL(apiUrl).origin}` : "'self'"}${signInOrigin}`);
    if (url.pathname === '/config.json') {
      // In proxy mode the console calls its own origin: the relative URL resolves to it.
      const config = { apiUrl: apiMode === 'direct' ? apiUrl : '/', ...(options.people ? { people: options.people } : {}) };
      return sendJson(response, 200, config, { ...headers, 'cache-control': 'no-store' });
    }
    let relative: string;
    try {
      relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end('Bad path\n');
      return;
    }
    const file = path.resolve(distDir, `.${relative}`);
    if (!file.startsWith(distDir + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end('Not found\n');
      return;
    }
    const immutable = relative.startsWith('/assets/');
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...headers,
    });
    response.end(request.method === 'HEAD' ? undefined : readFileSync(file));
  }

  async function proxy(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_PROXY_BODY_BYTES) return sendJson(response, 413, { error: { code: 'payload_too_large', message: 'Request body too large for the local console proxy' } });
      chunks.push(chunk as Buffer);
    }
    const forwarded: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = request.headers[name];
      if (typeof value === 'string') forwarded[name] = value;
    }
    const target = new URL(`${url.pathname.slice(1)}${url.search}`, apiUrl);
    let upstream: Response;
    try {
      upstream = await fetch(target, {
        method: request.method,
        headers: forwarded,
        body: chunks.length > 0 && request.method !== 'GET' && request.method !== 'HEAD' ? Buffer.concat(chunks) : undefined,
      });
    } catch (error) {
      return sendJson(response, 502, { error: { code: 'api_unreachable', message: `The local console proxy could not reach the API at ${apiUrl}: ${(error as Error).message}` } });
    }
    const body = Buffer.from(await upstream.arrayBuffer());
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    const contentType = upstream.headers.get('content-type');
    if (contentType) headers['content-type'] = contentType;
    response.writeHead(upstream.status, headers).end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_CONSOLE_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${host}:${port}`;
  if (options.apiMode === undefined || options.apiMode === 'auto') {
    apiMode = (await apiAllowsOrigin(apiUrl, origin)) ? 'direct' : 'proxy';
    log(
      apiMode === 'direct'
        ? `The API allows ${origin} (CORS): the console calls it directly`
        : `The API refuses a CORS preflight from ${origin}: the console server forwards /v1/* to ${apiUrl}`,
    );
  }
  return {
    url: `${origin}/`,
    origin,
    apiMode,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(`${JSON.stringify(body)}\n`);
}
