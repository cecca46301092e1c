import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Db, isConditionFailure } from './db.js';
import { SK_PREFIX, keys } from './keys.js';

async function queryAll(db: Db, input: ConstructorParameters<typeof QueryCommand>[0]): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await db.doc.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...(output.Items ?? []));
    startKey = output.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/**
 * Finds the programmers that fell silent: in every factory that watches (its
 * `programmerOfflineMinutes`), an active programmer whose last device call is older marks that
 * call as `offlineSince`, once per silence (the write is conditioned on both), and the change
 * stream turns the mark into `programmer.offline`. Programmers never seen are not watched.
 * Reads one sparse index entry per watching factory and the factory's programmers (gsi1).
 */
export async function markSilentProgrammers(db: Db, now: Date): Promise<number> {
  const factories = await queryAll(db, { TableName: db.table, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': keys.presenceIndexPk } });
  let marked = 0;
  for (const factory of factories) {
    const { accountId, factoryId } = keys.parsePresenceIndexSk(String(factory.gsi1sk));
    const silentBefore = new Date(now.getTime() - Number(factory.programmerOfflineMinutes) * 60_000).toISOString();
    const programmers = await queryAll(db, {
      TableName: db.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.factoryIndex(accountId, factoryId), ':prefix': SK_PREFIX.programmer },
    });
    for (const programmer of programmers) {
      const lastSeenAt = programmer.lastSeenAt as string | undefined;
      if (!lastSeenAt || lastSeenAt >= silentBefore || programmer.offlineSince === lastSeenAt || programmer.status !== 'active') continue;
      try {
        await db.doc.send(
          new UpdateCommand({
            TableName: db.table,
            Key: keys.programmer(accountId, String(programmer.programmerId)),
            UpdateExpression: 'SET offlineSince = :seen',
            ConditionExpression: 'lastSeenAt = :seen AND (attribute_not_exists(offlineSince) OR offlineSince <> :seen)',
            ExpressionAttributeValues: { ':seen': lastSeenAt },
          }),
        );
        marked += 1;
      } catch (error) {
        // It called in meanwhile, or another check marked it: nothing to report.
        if (!isConditionFailure(error)) throw error;
      }
    }
  }
  return marked;
}
