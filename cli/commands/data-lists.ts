import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { JSONWebKeySet } from 'jose';
import type * as z from 'zod';
import * as contract from '../../shared/contract/index.js';
import type { CommandContext } from '../context.js';
import { CliFailure, UsageError } from '../errors.js';
import { formatTime, renderTable } from '../output.js';
import type { CommandKit } from '../program.js';
import { createProgress } from '../progress.js';
import { JwsVerifier } from '../simulate/tickets.js';
import { putFile } from '../upload.js';
import { sha256File } from './image.js';

type DataList = z.infer<typeof contract.DataList>;

function listFields(list: DataList): string {
  const rows: [string, string][] = [
    ['Data list', `${list.name} (${list.dataListId})`],
    ['Status', list.status],
    ['Columns', list.columns.map((column) => (column.secret ? `${column.name} (secret)` : column.name)).join(', ')],
    ['Rows', `${list.total} total, ${list.issued} issued, ${list.returned} returned, ${list.remaining} remaining`],
    ...(list.rejection ? [['Rejected', `line ${list.rejection.line}${list.rejection.column ? `, column ${list.rejection.column}` : ''}: ${list.rejection.message}`] as [string, string]] : []),
    ['Created', formatTime(list.createdAt)],
  ];
  return `${rows.map(([label, value]) => `${label.padEnd(10)} ${value}`).join('\n')}\n`;
}

function formatOf(file: string, wanted: string | undefined): 'csv' | 'jsonl' {
  const format = wanted ?? (/\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv');
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError('--format must be csv or jsonl');
  return format;
}

/** The upload processor stores the rows after the object arrives: poll the list until it is no longer pending. */
async function waitForRows(context: CommandContext, dataListId: string, timeoutSeconds: number): Promise<DataList> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  context.note('Waiting for the cloud to check and store the rows …');
  for (let delay = 250; ; delay = Math.min(2000, delay * 1.5)) {
    const { dataList } = await context.client().call(contract.getDataList, { params: { dataListId } });
    if (dataList.status !== 'pending_upload') return dataList;
    if (Date.now() > deadline) throw new CliFailure('timeout', `the rows were not processed within ${timeoutSeconds} s; check later with: flashline data-lists show ${dataListId}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

export function registerDataListCommands(program: Command, kit: CommandKit): void {
  const lists = program.command('data-lists').description('data lists: rows given to exactly one unit each (secret columns never shown)');

  lists
    .command('ls')
    .description('list the data lists with their counts')
    .action(
      kit.action(async (context) => {
        const items = await context.client().listAll(contract.listDataLists, { query: { limit: 100 } });
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'DATA LIST', value: (l) => l.dataListId },
            { header: 'NAME', value: (l) => l.name },
            { header: 'STATUS', value: (l) => l.status },
            { header: 'TOTAL', value: (l) => l.total, align: 'right' },
            { header: 'ISSUED', value: (l) => l.issued, align: 'right' },
            { header: 'RETURNED', value: (l) => l.returned, align: 'right' },
            { header: 'REMAINING', value: (l) => l.remaining, align: 'right' },
          ]),
        );
      }),
    );

  lists
    .command('show')
    .description('show a data list: status and counts')
    .argument('<dataListId>')
    .action(
      kit.action(async (context, dataListId: string) => {
        const { dataList } = await context.client().call(contract.getDataList, { params: { dataListId } });
        context.print({ dataList }, () => listFields(dataList));
      }),
    );

  lists
    .command('create')
    .description('create a data list')
    .argument('<name>')
    .option('--column <name...>', 'a plain column (repeat or list several)')
    .option('--secret-column <name...>', 'a secret column: encrypted at rest, only ever in the authorization response of the programmer that gets the row')
    .action(
      kit.action(async (context, name: string, options: { column?: string[]; secretColumn?: string[] }) => {
        const columns = [...(options.column ?? []).map((column) => ({ name: column })), ...(options.secretColumn ?? []).map((column) => ({ name: column, secret: true }))];
        if (columns.length === 0) throw new UsageError('give at least one --column or --secret-column');
        const { dataList } = await context.client().call(contract.createDataList, { body: { name, columns } });
        context.print({ dataList }, () => `Created data list ${dataList.name} (${dataList.dataListId})\n`);
      }),
    );

  lists
    .command('upload')
    .description('fill a data list from a CSV (header row naming the columns) or JSON-lines file, through a presigned upload with its SHA-256')
    .argument('<dataListId>')
    .argument('<file>')
    .option('--format <format>', 'csv or jsonl (default: from the file name)')
    .option('--wait-timeout <seconds>', 'how long to wait for the rows to be stored', (value) => Number.parseInt(value, 10), 300)
    .action(
      kit.action(async (context, dataListId: string, file: string, options: { format?: string; waitTimeout: number }) => {
        const absolute = path.resolve(file);
        const { size: sizeBytes } = await stat(absolute);
        const format = formatOf(absolute, options.format);
        const sha256 = await sha256File(absolute);
        const client = context.client();
        const { uploadId, upload } = await client.call(contract.createDataListUpload, { params: { dataListId }, body: { format, sha256, sizeBytes } });
        const progress = createProgress(context.io.stderr, 'Uploading', sizeBytes);
        const result = await putFile(upload.url, upload.headers, absolute, sizeBytes, (sent) => progress.update(sent), context.io.signal);
        progress.finish();
        if (result.status < 200 || result.status >= 300) throw new CliFailure('upload_failed', `storage answered ${result.status}: ${result.body.slice(0, 300)}`);
        const dataList = await waitForRows(context, dataListId, options.waitTimeout);
        context.print({ dataList, uploadId }, () => listFields(dataList));
        if (dataList.status !== 'ready') throw new CliFailure('upload_rejected', `the rows were refused, none stored: line ${dataList.rejection?.line}${dataList.rejection?.column ? `, column ${dataList.rejection.column}` : ''}: ${dataList.rejection?.message}`);
      }),
    );

  const units = program.command('units').description('traceability: where a serial pool value, MAC address or chip UID went');
  units
    .command('show')
    .description("a unit's story: job, image, programmer, authorization, result, time, field names")
    .option('--serial <value>', 'a serial pool value')
    .option('--mac <address>', 'a MAC address')
    .option('--uid <hex>', 'a chip UID (jobs with a uidPolicy)')
    .action(
      kit.action(async (context, options: { serial?: string; mac?: string; uid?: string }) => {
        const query = { serial: options.serial, mac: options.mac, uid: options.uid };
        if (Object.values(query).filter((given) => given !== undefined).length !== 1) throw new UsageError('give exactly one of --serial, --mac or --uid');
        const { items } = await context.client().call(contract.lookupUnits, { query });
        context.print({ items }, () =>
          items.length === 0
            ? 'No unit got this value (never issued, or burned)\n'
            : renderTable(items, [
                { header: 'SERIAL', value: (u) => u.serial },
                { header: 'JOB', value: (u) => u.jobId },
                { header: 'IMAGE', value: (u) => u.imageId ?? '' },
                { header: 'PROGRAMMER', value: (u) => u.programmerId },
                { header: 'AUTHORIZATION', value: (u) => u.authorizationId },
                { header: 'AUTHORIZED', value: (u) => (u.authorizedAt ? formatTime(u.authorizedAt) : '') },
                { header: 'RESULT', value: (u) => (u.result ? u.result.status : 'none') },
                { header: 'FIELDS', value: (u) => u.fields.join(' ') },
              ]),
        );
      }),
    );

  const jobs = program.commands.find((command) => command.name() === 'jobs');
  if (!jobs) throw new Error('register the jobs commands before the data-list commands');
  jobs
    .command('manifest')
    .description("every programmed unit of a job as JSON lines, with the root key's detached signature over its SHA-256")
    .argument('<jobId>')
    .option('--verify', 'check the signature against the JWKS (GET /v1/signing-keys) and the SHA-256 against the lines')
    .option('--out <file>', 'write the JSON lines to this file instead of stdout')
    .action(
      kit.action(async (context, jobId: string, options: { verify?: boolean; out?: string }) => {
        const client = context.client();
        const answered = await client.call(contract.getJobManifest, { params: { jobId } });
        // A large job's lines are not inline: they are fetched from the presigned URL the answer names.
        const lines = answered.manifest ?? (await fetchManifestLines(answered.manifestUrl));
        const manifest = { ...answered, manifest: lines };
        if (options.verify) {
          const verifier = new JwsVerifier(async () => (await client.call(contract.getSigningKeys, {})) as JSONWebKeySet);
          const claims = await verifier.verify(manifest.signature, 'flashline-manifest+jwt').catch((error: Error) => {
            throw new CliFailure('manifest_invalid', error.message.replace('binding', 'manifest'));
          });
          const actual = createHash('sha256').update(manifest.manifest, 'utf8').digest('hex');
          if (claims.sha256 !== actual || claims.job !== jobId) throw new CliFailure('manifest_invalid', `the signature covers SHA-256 ${String(claims.sha256)} of job ${String(claims.job)}, the lines hash to ${actual}`);
          context.note(`Manifest verified: ${manifest.units} unit(s), SHA-256 ${actual}, signed by the root key`);
        }
        if (options.out) {
          const { writeFile } = await import('node:fs/promises');
          await writeFile(options.out, manifest.manifest);
        }
        context.print(manifest, () => (options.out ? `Wrote ${manifest.units} unit(s) to ${options.out}\n` : manifest.manifest));
      }),
    );
}

async function fetchManifestLines(url: string | undefined): Promise<string> {
  if (!url) throw new CliFailure('manifest_invalid', 'the answer carries neither the manifest nor a URL for it');
  const response = await fetch(url);
  if (!response.ok) throw new CliFailure('manifest_download_failed', `the manifest's URL answered ${response.status}; run the command again for a fresh URL`);
  return response.text();
}
