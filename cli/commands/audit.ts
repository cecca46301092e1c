import { type Command, Option } from 'commander';
import type { ListItemOf } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { AUDIT_ACTIONS, type AuditAction } from '../../shared/domain/audit.js';
import { integerOption, timestampOption } from '../options.js';
import { formatTime, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';

type AuditRecord = ListItemOf<typeof contract.listAudit>;

export function registerAuditCommands(program: Command, kit: CommandKit): void {
  program
    .command('audit')
    .description('who did what, when (admin): newest first, or oldest first from --since')
    .option('--since <time>', 'records at or after this time, oldest first', timestampOption)
    .option('--limit <n>', 'at most this many records', integerOption(1, 100_000), 50)
    .option('--actor <text>', 'only records whose actor contains this text (key:…, person:…, programmer:…)')
    .addOption(new Option('--action <action>', 'only records of this action').choices(AUDIT_ACTIONS))
    .option('--target <text>', "only records whose target's type or id, or a details value, contains this text")
    .action(
      kit.action(async (context, options: { since?: string; limit: number; actor?: string; action?: AuditAction; target?: string }) => {
        const items: AuditRecord[] = [];
        // The cloud filters; pages of a sparse filter may be empty, and paginate reads on through them.
        const query = { since: options.since, limit: Math.min(100, options.limit), actor: options.actor, action: options.action, target: options.target };
        for await (const record of context.client().paginate(contract.listAudit, { query })) {
          items.push(record);
          if (items.length >= options.limit) break;
        }
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'AT', value: (r) => formatTime(r.at) },
            { header: 'ACTOR', value: (r) => r.actor },
            { header: 'ACTION', value: (r) => r.action },
            { header: 'TARGET', value: (r) => `${r.target.type}:${r.target.id}` },
          ]),
        );
      }),
    );
}
