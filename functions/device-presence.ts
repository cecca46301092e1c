import { logger } from '../shared/http/logger.js';
import type { ProgrammerPrincipal } from '../shared/http/principal.js';
import type { Db } from '../shared/store/db.js';
import { notePresence } from '../shared/store/device.js';

/**
 * Every device call, in either device function, also marks the programmer as seen (at most one
 * write a minute). Best effort: a throttled or failed presence write must never fail the
 * programmer's request.
 */
export function markSeen(db: Db, principal: ProgrammerPrincipal): Promise<void> {
  return notePresence(db, principal.accountId, principal.programmerId).catch((error: unknown) => {
    logger.warn('lastSeenAt not recorded', { error: error instanceof Error ? error.name : String(error) });
  });
}
