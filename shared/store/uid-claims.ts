import { DeleteCommand, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../domain/errors.js';
import type { UidPolicy } from '../domain/uids.js';
import { type Db, cancelledConditions, isConditionFailure } from './db.js';
import { withFaultRetry } from './faults.js';
import { keys } from './keys.js';

/**
 * Claims on chip UIDs, one item per UID and scope (keys.uidClaim). Lifecycle:
 * - `claimed` when an authorization is asked for, BEFORE its units are reserved or granted, by a
 *   conditional write that only succeeds where the UID is free, already this authorization's
 *   (a retried nonce), or held by a claim whose lease has expired. Of programmers presenting one
 *   UID at once, exactly one writes it; the others get 409 `uid_in_progress`.
 * - `programmed` when a success for its unit is reported (written before the report is
 *   recorded: a crash between leaves the UID programmed with its result not yet recorded, which
 *   the report's retry records; it is never freed by mistake).
 * - freed (deleted) when its unit is reported failed, when its authorization is released with
 *   the unit unreported, or when the request that claimed it was refused. A crash before any of
 *   these leaves the claim until its lease (the authorization's `expiresAt`) has passed; then a
 *   new claim may take it over. A UID is therefore never granted to two live authorizations;
 *   at worst it waits out one lease.
 */
export interface UidScope {
  accountId: string;
  jobId: string;
  policy: Exclude<UidPolicy, 'none'>;
}

const claimKey = (scope: UidScope, uid: string) => keys.uidClaim(scope.accountId, uid, scope.policy === 'unique_per_account' ? 'account' : { jobId: scope.jobId });

/** A transaction holds at most 100 items. */
const CLAIMS_PER_WRITE = 100;

export async function claimUids(db: Db, scope: UidScope, authorizationId: string, uids: readonly string[], leaseExpiresAt: number, now: Date): Promise<void> {
  const claimed: string[] = [];
  for (let i = 0; i < uids.length; i += CLAIMS_PER_WRITE) {
    const chunk = uids.slice(i, i + CLAIMS_PER_WRITE);
    try {
      await withFaultRetry(() =>
        db.doc.send(
          new TransactWriteCommand({
            TransactItems: chunk.map((uid) => ({
              Put: {
                TableName: db.table,
                Item: { ...claimKey(scope, uid), type: 'uidClaim', uid, jobId: scope.jobId, state: 'claimed', authorizationId, leaseExpiresAt, claimedAt: now.toISOString() },
                ConditionExpression: 'attribute_not_exists(pk) OR (#state = :claimed AND (authorizationId = :me OR leaseExpiresAt < :now))',
                ExpressionAttributeNames: { '#state': 'state' },
                ExpressionAttributeValues: { ':claimed': 'claimed', ':me': authorizationId, ':now': Math.floor(now.getTime() / 1000) },
              },
            })),
          }),
        ),
      );
      claimed.push(...chunk);
    } catch (error) {
      const failed = cancelledConditions(error);
      if (!failed) throw error;
      await releaseUidClaims(db, scope, authorizationId, claimed);
      throw await uidTaken(db, scope, chunk[failed.indexOf(true)] ?? chunk[0]!);
    }
  }
}

async function uidTaken(db: Db, scope: UidScope, uid: string): Promise<ConflictError> {
  const { Item } = await withFaultRetry(() => db.doc.send(new GetCommand({ TableName: db.table, Key: claimKey(scope, uid), ConsistentRead: true })));
  if (Item?.state === 'programmed') {
    return new ConflictError('uid_already_programmed', `Chip ${uid} is programmed`, { uid, serial: Item.serial });
  }
  return new ConflictError('uid_in_progress', `Chip ${uid} is held by another authorization`, { uid });
}

/** Frees claims this authorization holds and has not programmed; others' and programmed ones stay. Best effort: what is left expires with the lease. */
export async function releaseUidClaims(db: Db, scope: UidScope, authorizationId: string, uids: readonly string[]): Promise<void> {
  const release = async (uid: string) => {
    try {
      await db.doc.send(
        new DeleteCommand({
          TableName: db.table,
          Key: claimKey(scope, uid),
          ConditionExpression: 'authorizationId = :me AND #state = :claimed',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':me': authorizationId, ':claimed': 'claimed' },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  };
  for (let i = 0; i < uids.length; i += 25) await Promise.all(uids.slice(i, i + 25).map(release));
}

/**
 * Marks UIDs programmed by this authorization's successful units. A claim taken over by
 * another authorization after this one's lease expired refuses the result (409): the chip is
 * that authorization's now.
 */
export async function markUidsProgrammed(db: Db, scope: UidScope, authorizationId: string, units: readonly { uid: string; serial: string }[], now: Date): Promise<void> {
  for (const { uid, serial } of units) {
    await markOne(db, scope, authorizationId, uid, serial, now);
    // api.md: a UID "that already has a successful unit in that scope" is refused, and a chip
    // programmed by a job of its own scope has one in the account too: its account claim says
    // so, so a unique_per_account job refuses it. Before the report is recorded, as the job's
    // mark: a crash between the two is finished by the report's retry.
    if (scope.policy === 'unique_per_job') await markAccountWide(db, scope, authorizationId, uid, serial, now);
  }
}

/**
 * The account claim of a chip a unique_per_job job programmed, unless the account claim is
 * already programmed (the first success stays the one named) or held by a live claim of a
 * unique_per_account job (that job's own result decides; one chip cannot be in two sockets).
 */
async function markAccountWide(db: Db, scope: UidScope, authorizationId: string, uid: string, serial: string, now: Date): Promise<void> {
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: keys.uidClaim(scope.accountId, uid, 'account'),
          UpdateExpression: 'SET #type = :type, uid = :uid, jobId = :job, #state = :programmed, serial = :serial, authorizationId = :me, programmedAt = :at REMOVE leaseExpiresAt',
          ConditionExpression: 'attribute_not_exists(pk) OR authorizationId = :me OR (#state = :claimed AND leaseExpiresAt < :now)',
          ExpressionAttributeNames: { '#state': 'state', '#type': 'type' },
          ExpressionAttributeValues: {
            ':type': 'uidClaim',
            ':uid': uid,
            ':job': scope.jobId,
            ':programmed': 'programmed',
            ':claimed': 'claimed',
            ':serial': serial,
            ':me': authorizationId,
            ':at': now.toISOString(),
            ':now': Math.floor(now.getTime() / 1000),
          },
        }),
      ),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
}

async function markOne(db: Db, scope: UidScope, authorizationId: string, uid: string, serial: string, now: Date): Promise<void> {
  try {
    await withFaultRetry(() =>
      db.doc.send(
        new UpdateCommand({
          TableName: db.table,
          Key: claimKey(scope, uid),
          UpdateExpression: 'SET #state = :programmed, serial = :serial, authorizationId = :me, programmedAt = :at REMOVE leaseExpiresAt',
          ConditionExpression: 'attribute_not_exists(pk) OR authorizationId = :me',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':programmed': 'programmed', ':serial': serial, ':me': authorizationId, ':at': now.toISOString() },
        }),
      ),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    throw await uidTaken(db, scope, uid);
  }
}
