import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { actorOf } from '../../../shared/http/principal.js';
import * as macBlocks from '../../../shared/store/mac-blocks.js';
import * as serialPools from '../../../shared/store/serial-pools.js';
import { db } from '../deps.js';

/** The sources of per-unit data: serial pools and MAC blocks. */
export const sourceRoutes = [
  implement(contract.createSerialPool, async ({ principal, body }) => ({ serialPool: await serialPools.createSerialPool(db, principal.accountId, body, actorOf(principal)) })),
  implement(contract.listSerialPools, async ({ principal, query }) => serialPools.listSerialPools(db, principal.accountId, query)),
  implement(contract.getSerialPool, async ({ principal, params }) => ({ serialPool: await serialPools.getSerialPool(db, principal.accountId, params.serialPoolId) })),
  implement(contract.createMacBlock, async ({ principal, body }) => ({ macBlock: await macBlocks.createMacBlock(db, principal.accountId, body, actorOf(principal)) })),
  implement(contract.listMacBlocks, async ({ principal, query }) => macBlocks.listMacBlocks(db, principal.accountId, query)),
  implement(contract.getMacBlock, async ({ principal, params }) => ({ macBlock: await macBlocks.getMacBlock(db, principal.accountId, params.macBlockId) })),
];
