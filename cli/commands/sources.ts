import type { Command } from 'commander';
import type * as z from 'zod';
import * as contract from '../../shared/contract/index.js';
import { integerOption } from '../options.js';
import { formatTime, renderFields, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';

type SerialPool = z.infer<typeof contract.SerialPool>;
type MacBlock = z.infer<typeof contract.MacBlock>;

const count = (n: number) => n.toLocaleString('en-US');

function poolFields(pool: SerialPool): string {
  return renderFields([
    ['Serial pool', `${pool.name} (${pool.serialPoolId})`],
    ['Format', pool.format],
    ['Start, step', `${pool.start}, ${pool.step}`],
    ['Values', `${count(pool.capacity)} in all, ${count(pool.issued)} issued, ${count(pool.remaining)} remaining`],
    ['Created', formatTime(pool.createdAt)],
  ]);
}

function blockFields(block: MacBlock): string {
  return renderFields([
    ['MAC block', `${block.name} (${block.macBlockId})`],
    ['Addresses', `${block.first} – ${block.last}`],
    ['Values', `${count(block.count)} in all, ${count(block.issued)} issued, ${count(block.remaining)} remaining`],
    ['Created', formatTime(block.createdAt)],
  ]);
}

/**
 * The account's shared sources of per-unit values (api.md "Per-unit data"): serial pools and MAC
 * blocks. A job names them with `image publish --unit-field`; data lists and certificate
 * authorities have their own commands (data-lists, cas).
 */
export function registerSourceCommands(program: Command, kit: CommandKit): void {
  const pools = program.command('serial-pools').description('serial pools: formatted serial numbers that jobs share, each value to one unit');

  pools
    .command('ls')
    .description('list the serial pools with what each has issued')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listSerialPools, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'SERIAL POOL', value: (p) => p.serialPoolId },
            { header: 'NAME', value: (p) => p.name },
            { header: 'FORMAT', value: (p) => p.format },
            { header: 'ISSUED', value: (p) => count(p.issued), align: 'right' },
            { header: 'REMAINING', value: (p) => count(p.remaining), align: 'right' },
          ]),
        );
      }),
    );

  pools
    .command('create')
    .description('create a serial pool (author); jobs draw from it with --unit-field NAME=serial-pool:ID')
    .argument('<name>')
    .requiredOption('--format <format>', 'fixed text and fields, e.g. SN-{n:08} or AB{chars:0-9A-Z}-{X:4}{check:mod37-36} (api.md "Per-unit data")')
    .option('--start <n>', 'the first value (default 0)', integerOption(0))
    .option('--step <n>', 'the increment between values (default 1)', integerOption(1, 1_000_000))
    .action(
      kit.action(async (context, name: string, options: { format: string; start?: number; step?: number }) => {
        const { serialPool } = await context.client().call(contract.createSerialPool, { body: { name, format: options.format, start: options.start, step: options.step } });
        context.print({ serialPool }, () => poolFields(serialPool));
      }),
    );

  pools
    .command('show')
    .description('show a serial pool: format and counts')
    .argument('<serialPoolId>')
    .action(
      kit.action(async (context, serialPoolId: string) => {
        const { serialPool } = await context.client().call(contract.getSerialPool, { params: { serialPoolId } });
        context.print({ serialPool }, () => poolFields(serialPool));
      }),
    );

  const blocks = program.command('mac-blocks').description('MAC blocks: EUI-48 address ranges the account owns, each address to one unit');

  blocks
    .command('ls')
    .description('list the MAC blocks with what each has issued')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listMacBlocks, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'MAC BLOCK', value: (b) => b.macBlockId },
            { header: 'NAME', value: (b) => b.name },
            { header: 'FIRST', value: (b) => b.first },
            { header: 'LAST', value: (b) => b.last },
            { header: 'ISSUED', value: (b) => count(b.issued), align: 'right' },
            { header: 'REMAINING', value: (b) => count(b.remaining), align: 'right' },
          ]),
        );
      }),
    );

  blocks
    .command('create')
    .description("register a block of addresses (admin); blocks of one account never overlap; jobs draw with --unit-field NAME=mac-block:ID[:PER_UNIT]")
    .argument('<name>')
    .requiredOption('--first <address>', 'the first EUI-48 address, e.g. 00:1B:C5:00:00:00')
    .requiredOption('--count <n>', 'how many consecutive addresses', integerOption(1, contract.MAX_MAC_BLOCK_SIZE))
    .action(
      kit.action(async (context, name: string, options: { first: string; count: number }) => {
        const { macBlock } = await context.client().call(contract.createMacBlock, { body: { name, first: options.first, count: options.count } });
        context.print({ macBlock }, () => blockFields(macBlock));
      }),
    );

  blocks
    .command('show')
    .description('show a MAC block: its range and counts')
    .argument('<macBlockId>')
    .action(
      kit.action(async (context, macBlockId: string) => {
        const { macBlock } = await context.client().call(contract.getMacBlock, { params: { macBlockId } });
        context.print({ macBlock }, () => blockFields(macBlock));
      }),
    );
}
