import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../cli/io.js';
import { jsonText, terminalSafe } from '../../cli/output.js';
import { runCli } from '../../cli/program.js';

const ENDPOINT = 'http://api.test/prefix/';
const credentials = { endpoint: ENDPOINT, accountId: 'acc_1', keyId: 'key_1', token: 'tok-admin', role: 'admin' };
const NOW = '2026-01-01T00:00:00.000Z';
const factory = (factoryId: string, name: string, isDefault = false) => ({ factoryId, name, isDefault, programmerCount: 0, openJobCount: 0, createdAt: NOW, updatedAt: NOW });

type Handler = (request: { method: string; path: string; query: URLSearchParams; body: any; headers: Record<string, string> }) => { status: number; body?: unknown };

/** A fake API: answers by `METHOD /path` (path relative to the endpoint), records every request. */
function fakeApi(routes: Record<string, Handler>) {
  const requests: { method: string; path: string; query: string; body: any; headers: Record<string, string> }[] = [];
  const fetch = (async (input: URL | RequestInfo, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const relative = `/${url.pathname.slice(new URL(ENDPOINT).pathname.length)}`;
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const headers = init?.headers as Record<string, string>;
    requests.push({ method, path: relative, query: url.search, body, headers });
    const handler = routes[`${method} ${relative}`];
    const answer = handler ? handler({ method, path: relative, query: url.searchParams, body, headers }) : { status: 404, body: { error: { code: 'not_found', message: `no route ${method} ${relative}` } } };
    return new Response(answer.status === 204 ? null : JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

let dir: string;
let stdout: string;
let stderr: string;

function io(fetch: typeof globalThis.fetch, env: Record<string, string> = {}): CliIo {
  return {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: dir,
    homeDir: path.join(dir, 'home'),
    fetch,
    sleep: async () => undefined,
  };
}

async function run(argv: string[], fetch: typeof globalThis.fetch = fakeApi({}).fetch, env: Record<string, string> = {}): Promise<number> {
  return runCli(argv, io(fetch, env));
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'flashline-cli-'));
  writeFileSync(path.join(dir, 'admin.json'), JSON.stringify(credentials));
  stdout = '';
  stderr = '';
});

describe('flashline usage (exit 2, no request made)', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown option', ['factories', 'ls', '--colour'], /unknown option '--colour'/],
    ['a missing argument', ['factories', 'create'], /missing required argument 'name'/],
    ['a missing required option', ['programmers', 'add', 'Cyclone'], /required option '--serial <hardwareSerial>' not specified/],
    ['a count that is not a positive integer', ['image', 'publish', 'fw.bin', '--factory', 'x', '--max-count', '0'], /--max-count <n>.*must be between 1 and/],
    ['a delivery mode that does not exist', ['image', 'publish', 'fw.bin', '--factory', 'x', '--delivery', 'carrier-pigeon'], /must be one of direct, cloud/],
    ['a date that is not a date', ['image', 'publish', 'fw.bin', '--factory', 'x', '--not-after', 'tomorrowish'], /must be a date\/time/],
    ['a failure rate above 1', ['simulate', '--failure-rate', '1.5'], /must be between 0 and 1/],
    ['a command group without its subcommand', ['jobs'], /Usage: flashline jobs/],
  ];
  for (const [what, argv, message] of cases) {
    it(`refuses ${what}`, async () => {
      const api = fakeApi({});
      expect(await run([...argv, '--credentials', 'admin.json'], api.fetch)).toBe(2);
      expect(stdout + stderr).toMatch(message);
      expect(api.requests).toEqual([]);
    });
  }

  it('answers --help with exit 0', async () => {
    expect(await run(['--help'])).toBe(0);
    expect(stdout).toMatch(/Usage: flashline/);
    expect(await run(['image', 'publish', '--help'])).toBe(0);
    expect(stdout).toMatch(/--serial-format <format>/);
  });

  it('answers --version with the package version and exit 0, before reading any credentials', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await run(['--version'])).toBe(0);
    expect(stdout.trim()).toBe(version);
    expect(await run(['-V'])).toBe(0);
  });

  it('names the credentials file it looked for, and how to choose another', async () => {
    expect(await run(['account'])).toBe(2);
    expect(stderr).toContain(path.join(dir, 'home', '.flashline', 'credentials.json'));
    expect(stderr).toMatch(/--credentials FILE or set FLASHLINE_CREDENTIALS/);
    writeFileSync(path.join(dir, 'broken.json'), JSON.stringify({ endpoint: 'not a url' }));
    expect(await run(['account', '--credentials', 'broken.json'])).toBe(2);
    expect(stderr).toMatch(/not a Flashline credentials file/);
  });
});

describe('credentials and output', () => {
  const accountRoutes = {
    'GET /v1/account': () => ({ status: 200, body: { account: { accountId: 'acc_1', name: 'Acme', defaultFactoryId: 'fac_d', createdAt: NOW } } }),
    'GET /v1/factories/fac_d': () => ({ status: 200, body: { factory: factory('fac_d', 'My Default Factory', true) } }),
  };

  it('reads --credentials, else FLASHLINE_CREDENTIALS, else ~/.flashline/credentials.json, and sends the bearer token', async () => {
    const api = fakeApi(accountRoutes);
    mkdirSync(path.join(dir, 'home', '.flashline'), { recursive: true });
    writeFileSync(path.join(dir, 'home', '.flashline', 'credentials.json'), JSON.stringify({ ...credentials, token: 'tok-home' }));
    writeFileSync(path.join(dir, 'env.json'), JSON.stringify({ ...credentials, token: 'tok-env' }));
    expect(await run(['account'], api.fetch)).toBe(0);
    expect(await run(['account'], api.fetch, { FLASHLINE_CREDENTIALS: 'env.json' })).toBe(0);
    expect(await run(['account', '--credentials', 'admin.json'], api.fetch, { FLASHLINE_CREDENTIALS: 'env.json' })).toBe(0);
    const tokens = api.requests.filter((r) => r.path === '/v1/account').map((r) => r.headers.authorization);
    expect(tokens).toEqual(['Bearer tok-home', 'Bearer tok-env', 'Bearer tok-admin']);
  });

  it('prints a table by default and one JSON document with --json (anywhere on the line)', async () => {
    const api = fakeApi({ 'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_d', 'My Default Factory', true), factory('fac_e', 'East Coast Factory')], nextCursor: null } }) });
    expect(await run(['factories', 'ls', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^FACTORY\s+NAME\s+PROGRAMMERS/);
    expect(stdout).toMatch(/fac_e\s+East Coast Factory/);
    stdout = '';
    expect(await run(['--json', 'factories', 'ls', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(JSON.parse(stdout).items.map((f: { name: string }) => f.name)).toEqual(['My Default Factory', 'East Coast Factory']);
  });

  it("prints the API's message and code and exits 1 on a refusal; --json puts the error on stderr as JSON", async () => {
    const api = fakeApi({
      'POST /v1/jobs/job_1/pause': () => ({ status: 409, body: { error: { code: 'invalid_transition', message: 'Cannot pause a job that is paused', details: { status: 'paused' } } } }),
      'GET /v1/jobs/job_x': () => ({ status: 404, body: { error: { code: 'not_found', message: 'Job not found' } } }),
    });
    expect(await run(['jobs', 'pause', 'job_1', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stderr).toContain('Cannot pause a job that is paused [invalid_transition 409]');
    expect(stderr).toContain('status=paused');
    stderr = '';
    expect(await run(['jobs', 'show', 'job_x', '--json', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toEqual({ error: { code: 'not_found', message: 'Job not found', status: 404 } });
  });

  it('lists the field issues of a 400', async () => {
    const api = fakeApi({
      'POST /v1/factories': () => ({ status: 400, body: { error: { code: 'invalid_request', message: 'Invalid request', details: { issues: [{ path: 'name', message: 'Too long' }] } } } }),
    });
    expect(await run(['factories', 'create', 'x', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stderr).toContain('Invalid request [invalid_request 400]');
    expect(stderr).toContain('  name: Too long');
  });

  it('exits 1 with a network error that says where it tried', async () => {
    const unreachable = (async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    }) as typeof fetch;
    expect(await run(['jobs', 'pause', 'job_1', '--credentials', 'admin.json'], unreachable)).toBe(1);
    expect(stderr).toMatch(/ECONNREFUSED.*\[network_error\]/);
  });
});

describe('factory arguments take a name or an id', () => {
  const factories = [factory('fac_d', 'My Default Factory', true), factory('fac_e', 'East Coast Factory'), factory('fac_w1', 'West'), factory('fac_w2', 'west')];
  const routes = {
    'GET /v1/factories': () => ({ status: 200, body: { items: factories, nextCursor: null } }),
    'PATCH /v1/factories/fac_e': ({ body }: { body: { name: string } }) => ({ status: 200, body: { factory: factory('fac_e', body.name) } }),
    'DELETE /v1/factories/fac_e': () => ({ status: 204 }),
    'DELETE /v1/factories/fac_w1': () => ({ status: 204 }),
  };

  it('by id, exact name, or a unique case-insensitive name', async () => {
    const api = fakeApi(routes);
    expect(await run(['factories', 'rename', 'fac_e', 'East', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(await run(['factories', 'rename', 'east coast factory', 'East', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(await run(['factories', 'rm', 'West', '--yes', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([
      'PATCH /v1/factories/fac_e',
      'PATCH /v1/factories/fac_e',
      'DELETE /v1/factories/fac_w1',
    ]);
  });

  it('refuses an ambiguous or unknown name with exit 1', async () => {
    const api = fakeApi(routes);
    expect(await run(['factories', 'rm', 'WEST', '--yes', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stderr).toContain('2 factories are named "WEST"; use the id [ambiguous_name]');
    stderr = '';
    expect(await run(['factories', 'rm', 'Narnia', '--yes', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stderr).toContain('no factory with the id or name "Narnia" [not_found]');
    expect(api.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });
});

describe('deleting commands ask first', () => {
  const job = { jobId: 'job_1', imageId: 'img_1', factoryId: 'fac_e', name: 'fw.bin', status: 'active', restrictions: { maxCount: null, notBefore: null, notAfter: null }, serials: { start: 0, step: 1, format: '{n}', next: '0' }, run: 1, counters: { authorized: 0, succeeded: 0, failed: 0, remaining: null }, createdAt: NOW, updatedAt: NOW };
  const routes = {
    'GET /v1/jobs/job_1': () => ({ status: 200, body: { job } }),
    'DELETE /v1/jobs/job_1': () => ({ status: 200, body: { job: { ...job, status: 'deleted' } } }),
    'DELETE /v1/api-keys/key_2': () => ({ status: 200, body: { apiKey: { keyId: 'key_2', name: 'old', role: 'viewer', status: 'revoked', createdAt: NOW, revokedAt: NOW } } }),
  };
  const deletes = (api: ReturnType<typeof fakeApi>) => api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
  const terminal = (api: ReturnType<typeof fakeApi>, answer: string, questions: string[]): CliIo => ({
    ...io(api.fetch),
    interactive: true,
    ask: async (question) => {
      questions.push(question);
      return answer;
    },
  });

  for (const argv of [['jobs', 'rm', 'job_1'], ['programmers', 'rm', 'Cyclone'], ['keys', 'revoke', 'key_2'], ['factories', 'rm', 'East'], ['jobs', 'rm', 'job_1', '--json']]) {
    it(`refuses \`${argv.join(' ')}\` without a terminal and without --yes: exit 2, no request`, async () => {
      const api = fakeApi(routes);
      expect(await run([...argv, '--credentials', 'admin.json'], api.fetch)).toBe(2);
      const message = `${argv.slice(0, 2).join(' ')} deletes: without a terminal to ask on, it needs --yes (nothing was deleted)`;
      if (argv.includes('--json')) expect(JSON.parse(stderr)).toEqual({ error: { code: 'usage', message } });
      else expect(stderr).toBe(`flashline: ${message} [usage]\n`);
      expect(stdout).toBe('');
      expect(api.requests).toEqual([]);
    });
  }

  it('deletes with --yes, printing the same JSON as before', async () => {
    const api = fakeApi(routes);
    expect(await run(['jobs', 'rm', 'job_1', '--yes', '--json', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ job: { ...job, status: 'deleted' } });
    expect(await run(['keys', 'revoke', 'key_2', '-y', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(deletes(api)).toEqual(['/v1/jobs/job_1', '/v1/api-keys/key_2']);
  });

  it('asks on a terminal, naming what goes, and deletes only on yes', async () => {
    const questions: string[] = [];
    const declined = fakeApi(routes);
    expect(await runCli(['jobs', 'rm', 'job_1', '--credentials', 'admin.json'], terminal(declined, 'n', questions))).toBe(1);
    expect(stderr).toContain('Not confirmed: nothing was deleted [not_confirmed]');
    expect(deletes(declined)).toEqual([]);
    const accepted = fakeApi(routes);
    expect(await runCli(['jobs', 'rm', 'job_1', '--credentials', 'admin.json'], terminal(accepted, 'yes', questions))).toBe(0);
    expect(deletes(accepted)).toEqual(['/v1/jobs/job_1']);
    expect(stdout).toContain('Deleted fw.bin (job_1): deleted');
    expect(questions).toEqual(['Delete job fw.bin (job_1) and its cloud image? [y/N] ', 'Delete job fw.bin (job_1) and its cloud image? [y/N] ']);
  });
});

describe('credentials files written by the CLI', () => {
  const created = { ...credentials, keyId: 'key_2', token: 'tok-new', role: 'author' };
  const routes = {
    'POST /v1/api-keys': () => ({
      status: 201,
      body: { keyId: 'key_2', apiKey: { keyId: 'key_2', name: 'image tool', role: 'author', status: 'active', createdAt: NOW, createdBy: 'key:key_1', revokedAt: null }, credentials: created },
    }),
  };

  const modeOf = (file: string) => statSync(file).mode & 0o777;

  it('keys create writes the file with mode 0600 into ./.flashline (0700, ignored by git) and keeps the token off stdout', async () => {
    const api = fakeApi(routes);
    expect(await run(['keys', 'create', 'image tool', '--role', 'author', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    const file = path.join(dir, '.flashline', 'image-tool.credentials.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(created);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(path.join(dir, '.flashline'))).toBe(0o700);
    expect(readFileSync(path.join(dir, '.flashline', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    expect(readdirSync(dir).filter((name) => name.includes('credentials'))).toEqual([]);
    expect(stdout).toContain(file);
    expect(stdout).not.toContain('tok-new');
    expect(api.requests[0]?.body).toEqual({ name: 'image tool', role: 'author' });
  });

  it('refuses an existing file before the key is created (its token would be lost), unless --force', async () => {
    writeFileSync(path.join(dir, 'taken.json'), '{}', { mode: 0o644 });
    const api = fakeApi(routes);
    expect(await run(['keys', 'create', 'x', '--role', 'author', '--out', 'taken.json', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(stderr).toMatch(/taken\.json exists; choose another --out or pass --force/);
    expect(api.requests).toEqual([]);
    expect(await run(['keys', 'create', 'x', '--role', 'author', '--out', 'taken.json', '--force', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'taken.json'), 'utf8'))).toEqual(created);
    expect(statSync(path.join(dir, 'taken.json')).mode & 0o777).toBe(0o600);
  });

  it('creates ~/.flashline 0700 with its ignore rule, tightens an existing one, and makes the folders of --out 0700', async () => {
    const home = path.join(dir, 'home');
    expect(await run(['keys', 'create', 'a', '--role', 'author', '--out', path.join(home, '.flashline', 'credentials.json'), '--credentials', 'admin.json'], fakeApi(routes).fetch)).toBe(0);
    expect(modeOf(path.join(home, '.flashline'))).toBe(0o700);
    expect(modeOf(path.join(home, '.flashline', 'credentials.json'))).toBe(0o600);
    expect(existsSync(path.join(home, '.flashline', '.gitignore'))).toBe(true);

    mkdirSync(path.join(dir, 'old', '.flashline'), { recursive: true, mode: 0o755 });
    chmodSync(path.join(dir, 'old', '.flashline'), 0o755);
    expect(await run(['keys', 'create', 'b', '--role', 'author', '--out', 'old/.flashline/b.json', '--credentials', 'admin.json'], fakeApi(routes).fetch)).toBe(0);
    expect(modeOf(path.join(dir, 'old', '.flashline'))).toBe(0o700);

    expect(await run(['keys', 'create', 'c', '--role', 'author', '--out', 'deploy/secrets/c.json', '--credentials', 'admin.json'], fakeApi(routes).fetch)).toBe(0);
    expect(modeOf(path.join(dir, 'deploy'))).toBe(0o700);
    expect(modeOf(path.join(dir, 'deploy', 'secrets'))).toBe(0o700);
    expect(modeOf(path.join(dir, 'deploy', 'secrets', 'c.json'))).toBe(0o600);
    expect(stderr).toContain(`${path.join(dir, 'deploy', 'secrets', 'c.json')} holds a secret and no ignore rule of flashline covers it`);
    expect(stderr).not.toContain('b.json');
  });
});

describe('text from others is escaped before it reaches a terminal', () => {
  const ESC = '\u001b';

  it('terminalSafe shows C0/C1 controls, DEL and bidi controls as escapes, keeping everything else', () => {
    expect(terminalSafe(`${ESC}]0;pwned\u0007${ESC}[2J${ESC}[31mred`)).toBe('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred');
    expect(terminalSafe('two\nlines\r\tand\u0000nul\u007f')).toBe('two\\nlines\\r\\tand\\x00nul\\x7f');
    expect(terminalSafe('c1 \u009b31m csi, \u0085 nel')).toBe('c1 \\x9b31m csi, \\x85 nel');
    expect(terminalSafe('abc\u202edcba\u2066x\u2069')).toBe('abc\\u202edcba\\u2066x\\u2069');
    expect(terminalSafe('Größe 1 µs — 日本 ✓ émoji 🚀')).toBe('Größe 1 µs — 日本 ✓ émoji 🚀');
    expect(terminalSafe('')).toBe('');
  });

  it('jsonText escapes what JSON.stringify leaves raw and stays the same JSON', () => {
    const value = { message: `a\u009b2J b\u007f c\u202e ${ESC}[1m`, n: 1 };
    const text = jsonText(value, 2);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('prints device log lines, names in tables and API error messages escaped; --json stays parseable', async () => {
    const line = { at: NOW, level: 'info', message: `ok${ESC}[2J${ESC}]0;owned\u0007\nFAKE  ERROR  forged line`, programmerId: 'prg_1', authorizationId: null, receivedAt: NOW, sequence: '1' };
    const api = fakeApi({
      'GET /v1/jobs/job_1/logs': () => ({ status: 200, body: { items: [line], nextCursor: null, followCursor: 'c' } }),
      'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_1', `East${ESC}[8m hidden`)], nextCursor: null } }),
      'GET /v1/jobs/job_2': () => ({ status: 404, body: { error: { code: 'not_found', message: `No job named ${ESC}[1mX\u009b2J` } } }),
    });
    expect(await run(['jobs', 'logs', 'job_1', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(stdout).toContain('ok\\x1b[2J\\x1b]0;owned\\x07\\nFAKE  ERROR  forged line');
    stdout = '';
    expect(await run(['factories', 'ls', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout).toContain('East\\x1b[8m hidden');
    expect(await run(['jobs', 'show', 'job_2', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stderr).toContain('No job named \\x1b[1mX\\x9b2J');
    expect(stderr).not.toMatch(/[\u001b\u009b]/);
    stdout = '';
    expect(await run(['jobs', 'logs', 'job_1', '--json', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(JSON.parse(stdout).items[0].message).toBe(line.message);
  });
});

describe('image publish (direct delivery)', () => {
  const bytes = Buffer.from('firmware image bytes');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const image = { imageId: 'img_1', jobId: 'job_1', factoryId: 'fac_e', name: 'fw.bin', description: null, contentSha256: sha256, sizeBytes: bytes.length, delivery: 'direct', encryptionKeyId: null, steps: [], status: 'registered', rejectionReason: null, createdAt: NOW, updatedAt: NOW };
  const job = { jobId: 'job_1', imageId: 'img_1', factoryId: 'fac_e', name: 'fw.bin', status: 'active', restrictions: { maxCount: 100, notBefore: null, notAfter: null }, serials: { start: 1, step: 1, format: '{n}', next: '1' }, run: 1, counters: { authorized: 0, succeeded: 0, failed: 0, remaining: 100 }, createdAt: NOW, updatedAt: NOW };
  const routes = {
    'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_e', 'East Coast Factory')], nextCursor: null } }),
    'POST /v1/images': () => ({ status: 201, body: { image, job, binding: 'h.p.s' } }),
  };

  it('hashes the file and sends the register body built from the options', async () => {
    writeFileSync(path.join(dir, 'fw.bin'), bytes);
    const api = fakeApi(routes);
    const argv = ['image', 'publish', 'fw.bin', '--factory', 'East Coast Factory', '--max-count', '100', '--not-after', '2027-01-01T00:00:00+01:00'];
    argv.push('--serial-start', '1000', '--serial-format', 'SN-{n:08}', '--step', 'erase', '--step', 'program:main flash', '--json', '--credentials', 'admin.json');
    expect(await run(argv, api.fetch, { FLASHLINE_CONSOLE_URL: 'http://console.test' })).toBe(0);
    expect(api.requests.find((r) => r.method === 'POST')?.body).toEqual({
      name: 'fw.bin',
      factoryId: 'fac_e',
      contentSha256: sha256,
      sizeBytes: bytes.length,
      delivery: 'direct',
      restrictions: { maxCount: 100, notAfter: '2026-12-31T23:00:00.000Z' },
      serials: { start: 1000, format: 'SN-{n:08}' },
      steps: [{ kind: 'erase' }, { kind: 'program', description: 'main flash' }],
    });
    const output = JSON.parse(stdout);
    expect(output).toMatchObject({ job: { jobId: 'job_1' }, binding: 'h.p.s', upload: null, consoleLink: 'http://console.test/#/jobs/job_1' });
  });

  it("links to the local console only when .flashline/local.json names this API", async () => {
    writeFileSync(path.join(dir, 'fw.bin'), bytes);
    mkdirSync(path.join(dir, '.flashline'));
    const api = fakeApi(routes);
    const publish = async () => {
      stdout = '';
      expect(await run(['image', 'publish', 'fw.bin', '--factory', 'fac_e', '--json', '--credentials', 'admin.json'], api.fetch)).toBe(0);
      return JSON.parse(stdout).consoleLink;
    };
    writeFileSync(path.join(dir, '.flashline', 'local.json'), JSON.stringify({ apiUrl: 'http://elsewhere/', consoleUrl: 'http://127.0.0.1:4580/' }));
    expect(await publish()).toBeNull();
    writeFileSync(path.join(dir, '.flashline', 'local.json'), JSON.stringify({ apiUrl: ENDPOINT, consoleUrl: 'http://127.0.0.1:4580/' }));
    expect(await publish()).toBe('http://127.0.0.1:4580/#/jobs/job_1');
  });

  it('needs --serial-start for the other serial options, and a readable file', async () => {
    writeFileSync(path.join(dir, 'fw.bin'), bytes);
    expect(await run(['image', 'publish', 'fw.bin', '--factory', 'fac_e', '--serial-format', '{n}', '--credentials', 'admin.json'], fakeApi(routes).fetch)).toBe(2);
    expect(stderr).toMatch(/need --serial-start/);
    expect(await run(['image', 'publish', 'missing.bin', '--factory', 'fac_e', '--credentials', 'admin.json'], fakeApi(routes).fetch)).toBe(2);
    expect(stderr).toMatch(/cannot read .*missing\.bin/);
  });

  it('sends per-unit data fields, onFailure and uidPolicy from --unit-field, --on-failure and --uid-policy', async () => {
    writeFileSync(path.join(dir, 'fw.bin'), bytes);
    const api = fakeApi(routes);
    const argv = ['image', 'publish', 'fw.bin', '--factory', 'fac_e', '--unit-field', 'board=serial-pool:spl_1', '--unit-field', 'mac=mac-block:mab_1:2', '--unit-field', 'wifi=mac-block:mab_2'];
    argv.push('--unit-field', 'cert=ca:ca_1', '--unit-field', 'keys=data-list:dl_1', '--on-failure', 'return', '--uid-policy', 'unique_per_job', '--json', '--credentials', 'admin.json');
    expect(await run(argv, api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'POST')?.body).toMatchObject({
      unitFields: [
        { name: 'board', source: { serialPool: 'spl_1' } },
        { name: 'mac', source: { macBlock: 'mab_1', perUnit: 2 } },
        { name: 'wifi', source: { macBlock: 'mab_2', perUnit: 1 } },
        { name: 'cert', source: { certificateAuthority: 'ca_1' } },
        { name: 'keys', source: { dataList: 'dl_1' } },
      ],
      onFailure: 'return',
      uidPolicy: 'unique_per_job',
    });
  });

  for (const [what, field, message] of [
    ['no name', '=serial-pool:spl_1', /give the field name before =/],
    ['no id', 'board=serial-pool', /give the source as KIND:ID/],
    ['an unknown kind', 'board=pool:spl_1', /unknown source kind "pool"/],
    ['a third part on a serial pool', 'board=serial-pool:spl_1:2', /only a mac-block takes a third part/],
    ['addresses per unit that are not a number', 'mac=mac-block:mab_1:two', /PER_UNIT must be a whole number/],
  ] as const) {
    it(`refuses a --unit-field with ${what} before any request (exit 2)`, async () => {
      const api = fakeApi(routes);
      expect(await run(['image', 'publish', 'fw.bin', '--factory', 'fac_e', '--unit-field', field, '--credentials', 'admin.json'], api.fetch)).toBe(2);
      expect(stderr).toMatch(message);
      expect(api.requests).toEqual([]);
    });
  }
});

describe('image publish (cloud delivery) when the storage keeps failing', () => {
  it('gives up after its attempts, each with a fresh URL, and says how to finish the registered image', async () => {
    const puts: string[] = [];
    const storage = createServer((request, response) => {
      puts.push(request.url ?? '');
      request.resume();
      request.on('end', () => response.writeHead(503).end('SlowDown'));
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const url = (n: number) => `http://127.0.0.1:${(storage.address() as AddressInfo).port}/bucket/img_9?attempt=${n}`;
    try {
      const bytes = Buffer.from('encrypted firmware');
      writeFileSync(path.join(dir, 'fw.bin'), bytes);
      const image = { imageId: 'img_9', jobId: 'job_9', factoryId: 'fac_e', name: 'fw.bin', description: null, contentSha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, delivery: 'cloud', encryptionKeyId: 'k1', steps: [], status: 'pending_upload', rejectionReason: null, createdAt: NOW, updatedAt: NOW };
      let fresh = 1;
      const api = fakeApi({
        'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_e', 'East Coast Factory')], nextCursor: null } }),
        'POST /v1/images': () => ({ status: 201, body: { image, job: { jobId: 'job_9' }, binding: 'h.p.s', upload: { url: url(1), method: 'PUT', headers: {}, expiresAt: NOW } } }),
        'POST /v1/images/img_9/upload-url': () => ({ status: 200, body: { upload: { url: url(++fresh), method: 'PUT', headers: {}, expiresAt: NOW } } }),
      });
      expect(await run(['image', 'publish', 'fw.bin', '--factory', 'fac_e', '--encryption-key', 'k1', '--credentials', 'admin.json'], api.fetch)).toBe(1);
      expect(puts).toEqual(['/bucket/img_9?attempt=1', '/bucket/img_9?attempt=2', '/bucket/img_9?attempt=3']);
      expect(stderr).toMatch(/upload failed after 3 attempts: storage answered 503: SlowDown; the image is registered: finish it with flashline image upload img_9 fw\.bin \[upload_failed\]/);
    } finally {
      storage.close();
    }
  });

  it('image upload refuses a file other than the one registered, before any upload', async () => {
    writeFileSync(path.join(dir, 'fw.bin'), Buffer.from('another build'));
    const image = { imageId: 'img_9', name: 'fw.bin', contentSha256: 'a'.repeat(64), sizeBytes: 13, status: 'pending_upload' };
    const api = fakeApi({ 'GET /v1/images/img_9': () => ({ status: 200, body: { image } }) });
    expect(await run(['image', 'upload', 'img_9', 'fw.bin', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(stderr).toMatch(/is not the file image img_9 was registered with \(SHA-256 differs\)/);
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/images/img_9']);
  });
});

describe('jobs update and jobs replace', () => {
  const fullJob = {
    jobId: 'job_1', imageId: 'img_2', factoryId: 'fac_e', name: 'fw.bin', status: 'active', imageVersion: 2, targetGroupIds: ['grp_1'],
    restrictions: { maxCount: 500, notBefore: null, notAfter: null, maxLeaseSeconds: 3600, autoPause: { failureRate: 0.05, minUnits: 100 } },
    serials: { start: 1, step: 1, format: '{n}', next: '1' }, unitFields: [{ name: 'board', source: { serialPool: 'spl_1' } }], onFailure: 'consume', uidPolicy: 'none',
    run: 1, counters: { authorized: 0, succeeded: 0, failed: 0, returned: 0, remaining: 500 }, createdAt: NOW, updatedAt: NOW,
  };

  it('sends only the changes given, and shows the job with its guardrail, targets and unit fields', async () => {
    const api = fakeApi({
      'GET /v1/jobs/job_1': () => ({ status: 200, body: { job: fullJob } }),
      'GET /v1/factories/fac_e/groups': () => ({ status: 200, body: { items: [{ groupId: 'grp_1', factoryId: 'fac_e', name: 'Gang A', createdAt: NOW }], nextCursor: null } }),
      'PATCH /v1/jobs/job_1': () => ({ status: 200, body: { job: fullJob } }),
      'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_e', 'East Coast Factory')], nextCursor: null } }),
    });
    // A group is named within the job's factory.
    const argv = ['jobs', 'update', 'job_1', '--max-count', '500', '--max-lease-seconds', '3600', '--auto-pause', '0.05:100', '--target-group', 'gang a', '--credentials', 'admin.json'];
    expect(await run(argv, api.fetch)).toBe(0);
    const patch = api.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.body).toEqual({ restrictions: { maxCount: 500, maxLeaseSeconds: 3600, autoPause: { failureRate: 0.05, minUnits: 100 } }, targetGroupIds: ['grp_1'] });
    expect(stdout).toMatch(/Auto-pause: +at 5 % failures, from 100 results/);
    expect(stdout).toMatch(/Targets: +groups grp_1/);
    expect(stdout).toMatch(/Unit fields: +board=spl_1/);

    expect(await run(['jobs', 'update', 'job_1', '--no-auto-pause', '--all-programmers', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.at(-2)!.body).toEqual({ restrictions: { autoPause: null }, targetGroupIds: null });
  });

  for (const [what, argv, message] of [
    ['nothing to change', [], /give something to change/],
    ['a guardrail without its minimum', ['--auto-pause', '0.05'], /must be RATE:MIN_UNITS/],
    ['a failure rate above 1', ['--auto-pause', '1.5:10'], /must be RATE:MIN_UNITS/],
    ['targets both ways', ['--target-group', 'grp_1', '--all-programmers'], /--target-group or --all-programmers, not both/],
  ] as const) {
    it(`refuses an update with ${what} before any request (exit 2)`, async () => {
      const api = fakeApi({});
      expect(await run(['jobs', 'update', 'job_1', ...argv, '--credentials', 'admin.json'], api.fetch)).toBe(2);
      expect(stderr).toMatch(message);
      expect(api.requests).toEqual([]);
    });
  }

  it('replaces the image with the new file: hashes it and sends the replace body', async () => {
    const bytes = Buffer.from('firmware version two');
    writeFileSync(path.join(dir, 'fw-v2.bin'), bytes);
    const image = { imageId: 'img_2', jobId: 'job_1', factoryId: 'fac_e', name: 'fw-v2.bin', description: null, contentSha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, delivery: 'direct', encryptionKeyId: null, steps: [], status: 'registered', rejectionReason: null, createdAt: NOW, updatedAt: NOW };
    const api = fakeApi({ 'POST /v1/jobs/job_1/replace': () => ({ status: 200, body: { image, job: fullJob, binding: 'h.p.s2' } }) });
    expect(await run(['jobs', 'replace', 'job_1', 'fw-v2.bin', '--step', 'program', '--json', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests[0]!.body).toEqual({ name: 'fw-v2.bin', contentSha256: image.contentSha256, sizeBytes: bytes.length, delivery: 'direct', steps: [{ kind: 'program' }] });
    expect(JSON.parse(stdout)).toMatchObject({ image: { imageId: 'img_2' }, binding: 'h.p.s2', upload: null });
  });
});

describe('factories update and show', () => {
  const east = { ...factory('fac_e', 'East Coast Factory'), programmerOfflineMinutes: 15 };
  const routes = {
    'GET /v1/factories': () => ({ status: 200, body: { items: [east], nextCursor: null } }),
    'GET /v1/factories/fac_e': () => ({ status: 200, body: { factory: east } }),
    'PATCH /v1/factories/fac_e': ({ body }: { body: any }) => ({ status: 200, body: { factory: { ...east, ...body } } }),
  };

  it('sets the offline threshold or turns it off, and shows it', async () => {
    const api = fakeApi(routes);
    expect(await run(['factories', 'update', 'east coast factory', '--offline-after', '30', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ programmerOfflineMinutes: 30 });
    expect(stdout).toMatch(/Offline after: +30 min without a device call/);
    expect(await run(['factories', 'update', 'fac_e', '--never-offline', '--name', 'East', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.filter((r) => r.method === 'PATCH').at(-1)!.body).toEqual({ name: 'East', programmerOfflineMinutes: null });
    stdout = '';
    expect(await run(['factories', 'show', 'East Coast Factory', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout).toMatch(/Offline after: +15 min/);
  });

  it('refuses an update with nothing or both offline options, before any request', async () => {
    const api = fakeApi(routes);
    expect(await run(['factories', 'update', 'fac_e', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(await run(['factories', 'update', 'fac_e', '--offline-after', '5', '--never-offline', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(await run(['factories', 'update', 'fac_e', '--offline-after', '0', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(api.requests).toEqual([]);
  });
});

describe('programmer groups', () => {
  const group = { groupId: 'grp_1', factoryId: 'fac_e', name: 'Gang A', createdAt: NOW };
  const programmer = { programmerId: 'prg_1', name: 'Cyclone 1', factoryId: 'fac_e', hardwareSerial: 'CY-1', status: 'active', encryptionKeyIds: [], groupIds: ['grp_1'], createdAt: NOW, updatedAt: NOW };
  const routes = {
    'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_e', 'East Coast Factory')], nextCursor: null } }),
    'GET /v1/factories/fac_e/groups': () => ({ status: 200, body: { items: [group], nextCursor: null } }),
    'POST /v1/factories/fac_e/groups': () => ({ status: 201, body: { group } }),
    'DELETE /v1/groups/grp_1': () => ({ status: 204 }),
    'GET /v1/programmers': () => ({ status: 200, body: { items: [programmer], nextCursor: null } }),
    'PATCH /v1/programmers/prg_1': () => ({ status: 200, body: { programmer } }),
  };

  it('creates and lists the groups of a factory named by name', async () => {
    const api = fakeApi(routes);
    expect(await run(['groups', 'create', 'Gang A', '--factory', 'east coast factory', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'POST')).toMatchObject({ path: '/v1/factories/fac_e/groups', body: { name: 'Gang A' } });
    expect(stdout).toMatch(/Created group Gang A \(grp_1\) in East Coast Factory/);
    stdout = '';
    expect(await run(['groups', 'ls', '--factory', 'fac_e', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout).toMatch(/grp_1 +Gang A/);
  });

  it("sets a programmer's groups by name within its factory, and none empties them", async () => {
    const api = fakeApi(routes);
    expect(await run(['programmers', 'groups', 'Cyclone 1', 'Gang A', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ groupIds: ['grp_1'] });
    expect(stdout).toMatch(/Cyclone 1 \(prg_1\) is in Gang A/);
    expect(await run(['programmers', 'groups', 'prg_1', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.filter((r) => r.method === 'PATCH').at(-1)!.body).toEqual({ groupIds: [] });
    expect(await run(['programmers', 'groups', 'prg_1', 'Gang B', '--credentials', 'admin.json'], api.fetch)).toBe(1);
    expect(stderr).toMatch(/no group in this factory with the id or name "Gang B" \[not_found\]/);
  });

  it("provisions a programmer into groups named in the default factory when no --factory is given", async () => {
    const api = fakeApi({
      ...routes,
      'GET /v1/account': () => ({ status: 200, body: { account: { accountId: 'acc_1', name: 'Acme', defaultFactoryId: 'fac_e', createdAt: NOW }, caller: { via: 'key', role: 'admin', keyId: 'key_1' } } }),
      'POST /v1/programmers': () => ({ status: 201, body: { programmer: { ...programmer, programmerId: 'prg_2', name: 'Cyclone 2' }, credentials: { ...credentials, role: 'programmer', token: 'tok-prg' } } }),
    });
    expect(await run(['programmers', 'add', 'Cyclone 2', '--serial', 'CY-2', '--group', 'gang a', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'POST')!.body).toEqual({ name: 'Cyclone 2', hardwareSerial: 'CY-2', factoryId: 'fac_e', groupIds: ['grp_1'] });
    expect(stdout).toMatch(/Groups: +Gang A/);
  });

  it('renames a programmer and replaces or empties its encryption keys', async () => {
    const api = fakeApi(routes);
    expect(await run(['programmers', 'update', 'Cyclone 1', '--name', 'Cyclone One', '--encryption-key', 'k1', '--encryption-key', 'k2', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'PATCH')!.body).toEqual({ name: 'Cyclone One', encryptionKeyIds: ['k1', 'k2'] });
    expect(await run(['programmers', 'update', 'prg_1', '--no-encryption-keys', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.filter((r) => r.method === 'PATCH').at(-1)!.body).toEqual({ encryptionKeyIds: [] });
    const before = api.requests.length;
    expect(await run(['programmers', 'update', 'prg_1', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(await run(['programmers', 'update', 'prg_1', '--encryption-key', 'k1', '--no-encryption-keys', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(api.requests.length).toBe(before);
  });

  it('shows a programmer with its factory and group names', async () => {
    const api = fakeApi({ ...routes, 'GET /v1/programmers/prg_1': () => ({ status: 200, body: { programmer: { ...programmer, lastSeenAt: null } } }) });
    expect(await run(['programmers', 'show', 'cyclone 1', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout).toMatch(/Factory: +East Coast Factory \(fac_e\)/);
    expect(stdout).toMatch(/Groups: +Gang A/);
    expect(stdout).toMatch(/Last seen: +never/);
  });

  it('deletes a group only with --yes when not on a terminal', async () => {
    const api = fakeApi(routes);
    expect(await run(['groups', 'rm', 'Gang A', '--factory', 'fac_e', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(api.requests).toEqual([]);
    expect(await run(['groups', 'rm', 'Gang A', '--factory', 'fac_e', '--yes', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/v1/groups/grp_1']);
  });
});

describe('people', () => {
  const person = { personId: 'per_1', email: 'ana@example.com', role: 'operator', factoryIds: ['fac_e'], status: 'active', createdAt: NOW, createdBy: 'key:key_1' };
  const routes = {
    'GET /v1/factories': () => ({ status: 200, body: { items: [factory('fac_e', 'East Coast Factory')], nextCursor: null } }),
    'POST /v1/people': () => ({ status: 201, body: { person, temporaryPassword: 'Tmp-123456aA!' } }),
    'GET /v1/people': () => ({ status: 200, body: { items: [person], nextCursor: null } }),
    'PATCH /v1/people/per_1': ({ body }: { body: any }) => ({ status: 200, body: { person: { ...person, ...body, factoryIds: body.factoryIds === null ? undefined : (body.factoryIds ?? person.factoryIds) } } }),
    'DELETE /v1/people/per_1': () => ({ status: 204 }),
  };

  it('invites with factories by name and shows the temporary password the local stack hands back', async () => {
    const api = fakeApi(routes);
    expect(await run(['people', 'invite', 'ana@example.com', '--role', 'operator', '--factory', 'East Coast Factory', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'POST')!.body).toEqual({ email: 'ana@example.com', role: 'operator', factoryIds: ['fac_e'] });
    expect(stdout).toMatch(/Factories: +East Coast Factory/);
    expect(stdout).toMatch(/Temporary password: Tmp-123456aA!/);
  });

  it('changes a person found by email, and removes them only with --yes off a terminal', async () => {
    const api = fakeApi(routes);
    expect(await run(['people', 'update', 'ANA@example.com', '--role', 'viewer', '--all-factories', '--disable', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.find((r) => r.method === 'PATCH')).toMatchObject({ path: '/v1/people/per_1', body: { role: 'viewer', factoryIds: null, status: 'disabled' } });
    expect(stdout).toMatch(/Factories: +every factory/);
    expect(await run(['people', 'update', 'ana@example.com', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(await run(['people', 'update', 'ana@example.com', '--disable', '--enable', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(await run(['people', 'rm', 'ana@example.com', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(await run(['people', 'rm', 'ana@example.com', '--yes', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/v1/people/per_1']);
  });
});

describe('serial pools and MAC blocks', () => {
  const pool = { serialPoolId: 'spl_1', name: 'Boards', format: 'BD{n:06}', start: 5, step: 2, capacity: 499_998, issued: 0, remaining: 499_998, createdAt: NOW, updatedAt: NOW };
  const block = { macBlockId: 'mab_1', name: 'Line A', first: '00:1B:C5:00:00:00', last: '00:1B:C5:00:0F:FF', count: 4096, issued: 10, remaining: 4086, createdAt: NOW, updatedAt: NOW };

  it('creates a serial pool from the options and prints its counts', async () => {
    const api = fakeApi({ 'POST /v1/serial-pools': () => ({ status: 201, body: { serialPool: pool } }) });
    expect(await run(['serial-pools', 'create', 'Boards', '--format', 'BD{n:06}', '--start', '5', '--step', '2', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests[0]!.body).toEqual({ name: 'Boards', format: 'BD{n:06}', start: 5, step: 2 });
    expect(stdout).toMatch(/Serial pool: +Boards \(spl_1\)/);
    expect(stdout).toMatch(/499,998 in all, 0 issued, 499,998 remaining/);
  });

  it('registers a MAC block and lists the blocks', async () => {
    const api = fakeApi({
      'POST /v1/mac-blocks': () => ({ status: 201, body: { macBlock: block } }),
      'GET /v1/mac-blocks': () => ({ status: 200, body: { items: [block], nextCursor: null } }),
    });
    expect(await run(['mac-blocks', 'create', 'Line A', '--first', '00:1B:C5:00:00:00', '--count', '4096', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(api.requests[0]!.body).toEqual({ name: 'Line A', first: '00:1B:C5:00:00:00', count: 4096 });
    stdout = '';
    expect(await run(['mac-blocks', 'ls', '--credentials', 'admin.json'], api.fetch)).toBe(0);
    expect(stdout).toMatch(/mab_1 +Line A +00:1B:C5:00:00:00 +00:1B:C5:00:0F:FF +10 +4,086/);
  });

  it('refuses a MAC block without --count before any request', async () => {
    const api = fakeApi({});
    expect(await run(['mac-blocks', 'create', 'Line A', '--first', '00:1B:C5:00:00:00', '--credentials', 'admin.json'], api.fetch)).toBe(2);
    expect(api.requests).toEqual([]);
  });
});

describe('upload progress', () => {
  it('prints a plain line per 10 % step without a TTY, and redraws one bar with \\r on a TTY', async () => {
    const { createProgress } = await import('../../cli/progress.js');
    let plain = '';
    let clock = 0;
    const lines = createProgress({ write: (text: string) => (plain += text) }, 'Uploading', 1000, () => (clock += 50));
    for (let sent = 0; sent <= 1000; sent += 50) lines.update(sent);
    lines.finish();
    expect(plain).not.toContain('\r');
    expect(plain.trim().split('\n').map((line) => /(\d+)%/.exec(line)![1])).toEqual(['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);

    let tty = '';
    const bar = createProgress({ write: (text: string) => (tty += text), isTTY: true, columns: 100 }, 'Uploading', 1000, () => (clock += 200));
    bar.update(500);
    bar.update(1000);
    bar.finish();
    expect(tty.split('\r').filter(Boolean).at(-1)).toMatch(/^Uploading \[#+\] 100% 1000 B \/ 1000 B/);
    expect(tty.endsWith('\n')).toBe(true);
    expect(tty.split('\n')).toHaveLength(2);
  });
});
