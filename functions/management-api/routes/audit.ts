import * as contract from '../../../shared/contract/index.js';
import { implement } from '../../../shared/http/handler.js';
import { listAudit } from '../../../shared/store/audit.js';
import { db } from '../deps.js';

export const auditRoutes = [implement(contract.listAudit, async ({ principal, query }) => listAudit(db, principal.accountId, query))];
