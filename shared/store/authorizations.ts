import { createHash } from 'node:crypto';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { authorizationRefusal, serialRange } from '../domain/jobs.js';
import { decodeJwsPayload } from '../domain/jws.js';
import { type Db, cancelledConditions, getItems } from './db.js';
import { type JobRecord, toJobRecord } from './jobs.js';
import { keys } from './keys.js';
import { type ProgrammerView, toProgrammerView } from './programmers.js';
import type { KmsJwsSigner } from './signer.js';
import type { TicketSigner } from './ticket-signer.js';

/** A ticket is good for ten minutes: the programmer programs right after asking. */
export const TICKET_TTL_SECONDS = 10 * 60;
const MAX_ATTEMPTS = 40;

export interface AuthorizationView {
  authorizationId: string;
  jobId: string;
  units: number;
  serials: string[];
  expiresAt: string;
  ticket: string;
}

export interface AuthorizationRecord extends AuthorizationView {
  programmerId: string;
  run: number;
  nonce: string;
}

export interface AuthorizeInput {
  accountId: string;
  programmerId: string;
  jobId: string;
  units: number;
  nonce: string;
  binding?: string;
}

/** One authorization per (programmer, nonce): its id is derived from them, so a retry finds it. */
export function authorizationIdFor(accountId: string, programmerId: string, nonce: string): string {
  return `auth_${createHash('sha256').update(`${accountId}\n${programmerId}\n${nonce}`).digest('hex').slice(0, 32)}`;
}

function toAuthorizationRecord(item: Record<string, unknown>): AuthorizationRecord {
  return {
    authorizationId: item.authorizationId as string,
    jobId: item.jobId as string,
    units: Number(item.units),
    serials: item.serials as string[],
    expiresAt: item.expiresAt as string,
    ticket: item.ticket as string,
    programmerId: item.programmerId as string,
    run: Number(item.run),
    nonce: item.nonce as string,
  };
}

export function publicView(record: AuthorizationRecord): AuthorizationView {
  const { authorizationId, jobId, units, serials, expiresAt, ticket } = record;
  return { authorizationId, jobId, units, serials, expiresAt, ticket };
}

interface Snapshot {
  programmer?: ProgrammerView;
  job?: JobRecord;
  existing?: AuthorizationRecord;
}

/** Programmer, job and any earlier authorization of this nonce: one strongly consistent round trip. */
async function readSnapshot(db: Db, input: AuthorizeInput, authorizationId: string): Promise<Snapshot> {
  const [programmer, job, existing] = await getItems(
    db,
    db.table,
    [keys.programmer(input.accountId, input.programmerId), keys.job(input.accountId, input.jobId), keys.authorization(input.accountId, authorizationId)],
    true,
  );
  return {
    programmer: programmer && toProgrammerView(programmer),
    job: job && toJobRecord(job),
    existing: existing && toAuthorizationRecord(existing),
  };
}

function bindingMatches(signer: KmsJwsSigner, binding: string, input: AuthorizeInput, job: JobRecord): Promise<boolean> {
  const claims = decodeJwsPayload(binding);
  if (!claims || claims.iss !== 'flashline' || claims.acct !== input.accountId || claims.job !== job.jobId || claims.img !== job.imageId || claims.fac !== job.factoryId) {
    return Promise.resolve(false);
  }
  return signer.verify(binding);
}

/**
 * Permission to program `units` units. All checks of the contract, then ONE transaction that
 * (a) reserves the units under the count limit, (b) takes the next serial numbers, and (c)
 * records the authorization under its (programmer, nonce) id. The job write is conditioned on
 * the serial index and counters we read, so two programmers can never be given the same
 * serials or together exceed the limit; the loser of a race reads again and retries.
 */
export async function authorizeUnits(deps: { db: Db; signer: KmsJwsSigner; tickets: TicketSigner }, input: AuthorizeInput): Promise<{ authorization: AuthorizationView; created: boolean }> {
  const { db, signer, tickets } = deps;
  const authorizationId = authorizationIdFor(input.accountId, input.programmerId, input.nonce);

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const { programmer, job, existing } = await readSnapshot(db, input, authorizationId);
    if (existing) {
      if (existing.jobId !== input.jobId || existing.units !== input.units) {
        throw new ConflictError('nonce_reused', 'This nonce was already used for another request; use a new nonce for each authorization', {
          authorizationId,
        });
      }
      return { authorization: publicView(existing), created: false };
    }
    // A deprovisioned programmer whose token is still cached by the authorizer.
    if (!programmer) throw new UnauthenticatedError('These programmer credentials are no longer valid');
    if (!job) throw new NotFoundError('Job');
    if (programmer.status !== 'active') throw new ConflictError('programmer_disabled', 'This programmer is disabled');
    if (job.status === 'deleted') throw new ConflictError('job_deleted', 'This job has been deleted');
    if (job.factoryId !== programmer.factoryId) {
      throw new ConflictError('wrong_factory', "This job belongs to another factory than this programmer's", { programmerFactoryId: programmer.factoryId });
    }
    if (input.binding !== undefined && !(await bindingMatches(signer, input.binding, input, job))) {
      throw new ConflictError('binding_mismatch', 'The binding was not issued by this cloud for this job, account and factory');
    }
    const now = new Date();
    const refusal = authorizationRefusal(job, input.units, now);
    if (refusal) throw refusal;

    const serials = serialRange({ start: job.serialStart, step: job.serialStep, format: job.serialFormat }, job.nextSerialIndex, input.units);
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + TICKET_TTL_SECONDS;
    const ticket = await tickets.signTicket({
      iss: 'flashline',
      sub: input.programmerId,
      acct: input.accountId,
      job: job.jobId,
      img: job.imageId,
      units: input.units,
      serials,
      nonce: input.nonce,
      exp,
      iat,
      jti: authorizationId,
    });
    const record: AuthorizationRecord = {
      authorizationId,
      jobId: job.jobId,
      units: input.units,
      serials,
      expiresAt: new Date(exp * 1000).toISOString(),
      ticket,
      programmerId: input.programmerId,
      run: job.run,
      nonce: input.nonce,
    };
    try {
      await db.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: db.table,
                Key: keys.job(input.accountId, job.jobId),
                UpdateExpression: 'SET authorized = authorized + :units, nextSerialIndex = :nextIndex, updatedAt = :at',
                ConditionExpression: '#status = :active AND #run = :run AND nextSerialIndex = :firstIndex AND authorized = :authorized',
                ExpressionAttributeNames: { '#status': 'status', '#run': 'run' },
                ExpressionAttributeValues: {
                  ':units': input.units,
                  ':nextIndex': job.nextSerialIndex + input.units,
                  ':firstIndex': job.nextSerialIndex,
                  ':authorized': job.authorized,
                  ':active': 'active',
                  ':run': job.run,
                  ':at': now.toISOString(),
                },
              },
            },
            {
              Put: {
                TableName: db.table,
                Item: {
                  ...keys.authorization(input.accountId, authorizationId),
                  type: 'authorization',
                  ...record,
                  createdAt: now.toISOString(),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { authorization: publicView(record), created: true };
    } catch (error) {
      if (!cancelledConditions(error)?.some(Boolean)) throw error;
      // Lost a race (another authorization, a pause, a retry of this nonce): read again and decide anew.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
    }
  }
  throw Object.assign(new Error('Too much contention on this job; retry'), { name: 'ThrottlingException' });
}

/** An authorization of this programmer, for reporting its results. */
export async function getAuthorizationRecord(db: Db, accountId: string, programmerId: string, authorizationId: string): Promise<AuthorizationRecord> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.authorization(accountId, authorizationId), ConsistentRead: true }));
  if (!Item || Item.programmerId !== programmerId) throw new NotFoundError('Authorization');
  return toAuthorizationRecord(Item);
}
