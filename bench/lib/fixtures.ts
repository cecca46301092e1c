import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../scripts/lib/deploy.js';
import { FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';

/** What the bench and the soak script set up through the public API before measuring. */
export async function createAccount(name: string): Promise<contract.CredentialsFileType> {
  const { stdout } = await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/admin.ts', 'create-account', '--name', name], { cwd: ROOT, env: process.env });
  return JSON.parse(stdout);
}

/** The platform operator's `npm run admin -- set-rate-limit` for one account's device or management routes. */
export async function setAccountRateLimit(accountId: string, routes: 'device' | 'management', limit: { ratePerSecond: number; burst: number }): Promise<void> {
  await promisify(execFile)(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['scripts/admin.ts', 'set-rate-limit', '--account', accountId, '--routes', routes, '--rate', String(limit.ratePerSecond), '--burst', String(limit.burst)],
    { cwd: ROOT, env: process.env },
  );
}

/** Measurement clients never retry: a retried request would hide a failure inside a latency. */
export const measuring = (credentials: contract.CredentialsFileType) => FlashlineClient.fromCredentials(credentials, { retry: { retries: 0 } });

export interface Line {
  admin: FlashlineClient;
  author: FlashlineClient;
  factoryId: string;
  programmers: contract.CredentialsFileType[];
}

/** An account with an author key, one factory and `count` programmers in it. */
export async function createLine(adminCredentials: contract.CredentialsFileType, count: number, label = 'Bench'): Promise<Line> {
  const admin = measuring(adminCredentials);
  const author = measuring((await admin.call(contract.createApiKey, { body: { name: `${label} author`, role: 'author' } })).credentials);
  const { factory } = await admin.call(contract.createFactory, { body: { name: `${label} ${randomUUID().slice(0, 8)}` } });
  const programmers: contract.CredentialsFileType[] = [];
  for (let i = 1; i <= count; i += 1) {
    const created = await admin.call(contract.provisionProgrammer, {
      body: { name: `${label} ${i}`, hardwareSerial: randomUUID(), factoryId: factory.factoryId, encryptionKeyIds: ['bench-key'] },
    });
    programmers.push(created.credentials);
  }
  return { admin, author, factoryId: factory.factoryId, programmers };
}

/** A directly delivered image's job (no upload, no download); `maxCount` undefined: unlimited. */
export async function directJob(line: Line, name: string, maxCount?: number, serialFormat?: string): Promise<string> {
  const registered = await line.author.call(contract.registerImage, {
    body: {
      name,
      factoryId: line.factoryId,
      contentSha256: createHash('sha256').update(`${name} ${randomUUID()}`).digest('hex'),
      sizeBytes: 1024,
      delivery: 'direct',
      restrictions: maxCount ? { maxCount } : undefined,
      serials: serialFormat ? { start: 1, format: serialFormat } : undefined,
    },
  });
  return registered.job.jobId;
}
