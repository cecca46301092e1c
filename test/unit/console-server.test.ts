import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, startConsoleServer } from '../../scripts/lib/console-server.js';

/** A stand-in API: answers preflights as told, and echoes what reached it. */
function fakeApi(allowCors: () => boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    if (request.method === 'OPTIONS') {
      if (!allowCors()) return void response.writeHead(403, { 'content-type': 'application/json' }).end('{"message": "CORS origin denied"}');
      return void response.writeHead(204, { 'access-control-allow-origin': String(request.headers.origin) }).end();
    }
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      response
        .writeHead(request.url?.includes('missing') ? 404 : 200, { 'content-type': 'application/json', 'x-internal': 'not forwarded' })
        .end(JSON.stringify({ method: request.method, url: request.url, authorization: request.headers.authorization ?? null, body }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stage/` })));
}

describe('the local console server', () => {
  let distDir: string;
  let api: { server: Server; url: string };
  let cors = false;
  let consoleServer: ConsoleServer | undefined;

  beforeAll(async () => {
    distDir = mkdtempSync(path.join(tmpdir(), 'console-dist-'));
    mkdirSync(path.join(distDir, 'assets'));
    writeFileSync(path.join(distDir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(path.join(distDir, 'assets', 'app-ABC.js'), 'export {};');
    api = await fakeApi(() => cors);
  });
  afterEach(async () => {
    await consoleServer?.close();
    consoleServer = undefined;
  });
  afterAll(() => {
    api.server.close();
    rmSync(distDir, { recursive: true, force: true });
  });

  it('forwards /v1/* to the API when the API refuses CORS for its origin (MiniStack), and says so in config.json', async () => {
    cors = false;
    consoleServer = await startConsoleServer({ apiUrl: api.url, port: 0, distDir });
    expect(consoleServer.apiMode).toBe('proxy');
    const config = await fetch(`${consoleServer.url}config.json`);
    expect(await config.json()).toEqual({ apiUrl: '/' });
    expect(config.headers.get('content-security-policy')).toContain("connect-src 'self';");

    const proxied = await fetch(`${consoleServer.url}v1/jobs/job_1/pause?x=1`, { method: 'POST', headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' }, body: '{}' });
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('x-internal')).toBeNull();
    expect(await proxied.json()).toEqual({ method: 'POST', url: '/stage/v1/jobs/job_1/pause?x=1', authorization: 'Bearer t0k', body: '{}' });
    const missing = await fetch(`${consoleServer.url}v1/missing`);
    expect(missing.status).toBe(404);
  });

  it('lets the browser call the API directly when the API allows its origin', async () => {
    cors = true;
    consoleServer = await startConsoleServer({ apiUrl: api.url, port: 0, distDir });
    expect(consoleServer.apiMode).toBe('direct');
    const config = await fetch(`${consoleServer.url}config.json`);
    expect(await config.json()).toEqual({ apiUrl: api.url });
    expect(config.headers.get('content-security-policy')).toContain(`connect-src 'self' ${new URL(api.url).origin};`);
    expect((await fetch(`${consoleServer.url}v1/account`)).status).toBe(404);
  });

  it('serves index.html at /, caches hashed assets for good, and never serves files outside dist', async () => {
    consoleServer = await startConsoleServer({ apiUrl: api.url, port: 0, distDir, apiMode: 'proxy' });
    const index = await fetch(consoleServer.url);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    const asset = await fetch(`${consoleServer.url}assets/app-ABC.js`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // A file beside dist/ that must stay out of reach, asked for raw (fetch would normalize the dots away).
    const secret = `${path.basename(distDir)}-secret.txt`;
    writeFileSync(path.join(distDir, '..', secret), 'secret');
    const rawStatus = (requestPath: string) =>
      new Promise<number>((resolve, reject) => get({ host: '127.0.0.1', port: new URL(consoleServer!.url).port, path: requestPath }, (r) => resolve(r.resume().statusCode ?? 0)).on('error', reject));
    for (const escape of [`/../${secret}`, `/..%2f${secret}`, `/assets/..%2f..%2f${secret}`, `/%2e%2e/${secret}`]) {
      expect(await rawStatus(escape), escape).toBe(404);
    }
    rmSync(path.join(distDir, '..', secret));
    expect(await rawStatus('/%E0%A4%A')).toBe(400);
    expect((await fetch(consoleServer.url, { method: 'POST' })).status).toBe(405);
  });
});
