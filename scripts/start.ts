import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ensureSecretsFolder } from '../cli/credentials.js';
import { buildConsole } from '../console/build.js';
import { stopEmulator } from '../localstack/ministack.js';
import { DEFAULT_CONSOLE_PORT, startConsoleServer } from './lib/console-server.js';
import { ROOT } from './lib/deploy.js';
import { ensureLocalStack } from './lib/local-stack.js';

/**
 * `npm start`: the whole stack on the local emulator. Starts the emulator (state kept under
 * localstack/.state), deploys the real CDK stack when it changed, seeds a demo account once,
 * writes .flashline/local.json, prints the URLs and stays up until Ctrl-C.
 */
const LOCAL_DIR = path.join(ROOT, '.flashline');
const CREDENTIALS_FILE = path.join(LOCAL_DIR, 'demo-credentials.json');

async function demoCredentialsWork(apiUrl: string): Promise<boolean> {
  if (!existsSync(CREDENTIALS_FILE)) return false;
  const credentials = JSON.parse(readFileSync(CREDENTIALS_FILE, 'utf8'));
  if (credentials.endpoint !== apiUrl) return false;
  const response = await fetch(`${apiUrl}v1/account`, { headers: { authorization: `Bearer ${credentials.token}` } });
  return response.ok;
}

async function main(): Promise<void> {
  const started = Date.now();
  const stack = await ensureLocalStack({ persist: true });
  const { apiUrl } = stack.outputs;
  console.log(stack.deployed ? `Deployed the stack in ${stack.seconds.toFixed(1)} s` : 'The deployed stack is up to date');

  ensureSecretsFolder(LOCAL_DIR);
  if (!(await demoCredentialsWork(apiUrl))) {
    console.log('Creating the demo account …');
    const { stdout } = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/admin.ts', 'create-account', '--name', 'Demo Account'], {
      cwd: ROOT,
      env: process.env,
    });
    writeFileSync(CREDENTIALS_FILE, stdout, { mode: 0o600 });
    chmodSync(CREDENTIALS_FILE, 0o600); // `mode` applies only to a new file; an old one keeps its mode
  }
  await buildConsole();
  // The API's CORS allows this fixed port (infra/app.ts corsOrigins), so keep it stable.
  const consolePort = Number(process.env.FLASHLINE_CONSOLE_PORT ?? DEFAULT_CONSOLE_PORT);
  const consoleServer = await startConsoleServer({ apiUrl, port: consolePort, log: console.log, people: stack.outputs.people }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new Error(`port ${consolePort} is in use (another npm start?); set FLASHLINE_CONSOLE_PORT to serve the console elsewhere`);
    throw error;
  });
  const consoleUrl = consoleServer.url;
  // awsEndpoint lets `npm run admin` find this stack without AWS variables set by hand.
  const local = { apiUrl, consoleUrl, credentialsFile: CREDENTIALS_FILE, awsEndpoint: stack.emulator.endpoint };
  writeFileSync(path.join(LOCAL_DIR, 'local.json'), `${JSON.stringify(local, null, 2)}\n`);

  console.log('');
  console.log(`Flashline is up (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`  API:          ${apiUrl}`);
  console.log(`  Console:      ${consoleUrl} (sign in with the token in the credentials file)`);
  console.log(`  Credentials:  ${path.relative(process.cwd(), CREDENTIALS_FILE)} (demo account, admin)`);
  console.log(`  Try:          curl -H "Authorization: Bearer $(node -p "require('./.flashline/demo-credentials.json').token")" ${apiUrl}v1/account`);
  console.log('Ctrl-C stops it.');

  const shutdown = () => {
    if (stack.startedEmulator) stopEmulator();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: Error) => {
  console.error(`npm start failed: ${error.message}`);
  process.exit(1);
});
