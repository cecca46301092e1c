import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { FactoryParam } from '../contract/route.js';
import type { Db } from './db.js';
import { type Key, groupKeys, keys } from './keys.js';

/** Where each kind of object named by a path parameter is stored; each item carries its `factoryId`. */
const ITEM_OF: Record<Exclude<FactoryParam, 'factoryId'>, (accountId: string, id: string) => Key> = {
  programmerId: keys.programmer,
  jobId: keys.job,
  imageId: keys.image,
  groupId: groupKeys.group,
};

/**
 * The handler chain's factory resolver (http/middlewares.ts factoryScoping), read only for
 * principals limited to factories. Strongly consistent: a programmer moved out of a factory a
 * moment ago must not still be shown to that factory's keys.
 */
export function factoryResolver(db: Db) {
  return {
    async factoryOf(accountId: string, param: Exclude<FactoryParam, 'factoryId'>, id: string): Promise<string | undefined> {
      const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: ITEM_OF[param](accountId, id), ConsistentRead: true, ProjectionExpression: 'factoryId' }));
      return typeof Item?.factoryId === 'string' ? Item.factoryId : undefined;
    },
  };
}
