import type { Context, ScheduledEvent } from 'aws-lambda';
import { requireEnv } from '../../shared/config.js';
import { logger } from '../../shared/http/logger.js';
import { observed } from '../../shared/observability/observe.js';
import { createDocumentClient } from '../../shared/store/clients.js';
import { NO_CURSORS } from '../../shared/store/cursors.js';
import type { Db } from '../../shared/store/db.js';
import { markSilentProgrammers } from '../../shared/store/presence.js';

const db: Db = { doc: createDocumentClient(), table: requireEnv('TABLE_NAME'), events: requireEnv('EVENTS_TABLE_NAME'), cursors: NO_CURSORS };

/**
 * Every minute (EventBridge schedule): programmers silent past their factory's
 * `programmerOfflineMinutes` are marked, and so reported once. The check runs at the event's
 * own `time`, so a late or replayed invocation judges the moment it was scheduled for.
 */
export const handler = observed(
  async (event: Pick<ScheduledEvent, 'time'>, _context: Context): Promise<void> => {
    const marked = await markSilentProgrammers(db, new Date(event.time ?? Date.now()));
    logger.info('presence checked', { marked });
  },
  () => ({}),
);
