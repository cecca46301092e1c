import * as path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { FlashlineClient, ListItemOf } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { sleepUnlessAborted } from '../io.js';
import { choiceOption, collect, integerOption, timestampOption, YES_HELP } from '../options.js';
import { formatTime, formatYield, jsonText, renderFields, renderTable, terminalSafe } from '../output.js';
import type { CommandKit } from '../program.js';
import { factoryNames, resolveFactory, resolveGroup } from '../resolve.js';
import { UNIT_FIELD_SOURCES, deliverImage, parseStep, parseUnitField, readableImage, sha256File } from './image.js';

type Job = contract.ResponseOf<typeof contract.getJob>['job'];
type LogLine = ListItemOf<typeof contract.listJobLogs>;
type ResultRecord = ListItemOf<typeof contract.listJobResults>;

const JOB_STATUSES = contract.JobStatus.options;

function jobFields(job: Job, factoryName: string | undefined, link: string | null): string {
  const { counters, restrictions } = job;
  return renderFields([
    ['Job', `${job.name} (${job.jobId})`],
    ['Status', job.status],
    ['Factory', factoryName ? `${factoryName} (${job.factoryId})` : job.factoryId],
    ['Image', job.imageId],
    ['Run', job.run],
    ['Max count', restrictions.maxCount ?? 'unlimited'],
    ['Not before', formatTime(restrictions.notBefore)],
    ['Not after', formatTime(restrictions.notAfter)],
    ['Max lease', `${restrictions.maxLeaseSeconds} s`],
    ['Auto-pause', restrictions.autoPause ? `at ${restrictions.autoPause.failureRate * 100} % failures, from ${restrictions.autoPause.minUnits} results` : 'off'],
    ['Targets', job.targetGroupIds ? `groups ${job.targetGroupIds.join(', ')}` : 'every programmer of the factory'],
    ['Unit fields', job.unitFields.map(({ name, source }) => `${name}=${Object.values(source)[0]}`).join(', ') || '-'],
    ['On failure', job.onFailure],
    ['Authorized', counters.authorized],
    ['Succeeded', counters.succeeded],
    ['Failed', counters.failed],
    ['Returned', counters.returned],
    ['Remaining', counters.remaining ?? 'unlimited'],
    ['Yield', formatYield(counters.succeeded, counters.failed)],
    ['Next serial', job.serials.next],
    ['Updated', formatTime(job.updatedAt)],
    ['View online', link ?? '-'],
  ]);
}

/** `--auto-pause RATE:MIN_UNITS`: pause once MIN_UNITS results are in and failures/results ≥ RATE (0–1). */
function autoPauseOption(text: string): { failureRate: number; minUnits: number } {
  const match = /^(\d*\.?\d+):(\d+)$/.exec(text.trim());
  const failureRate = match ? Number(match[1]) : Number.NaN;
  const minUnits = match ? Number(match[2]) : Number.NaN;
  if (!match || failureRate > 1 || minUnits < 1) throw new InvalidArgumentError('must be RATE:MIN_UNITS, a failure rate from 0 to 1 and at least 1 result, e.g. 0.05:100');
  return { failureRate, minUnits };
}

interface UpdateOptions {
  maxCount?: number;
  notBefore?: string;
  notAfter?: string;
  maxLeaseSeconds?: number;
  /** false: --no-auto-pause. */
  autoPause?: { failureRate: number; minUnits: number } | false;
  targetGroup?: string[];
  allProgrammers?: boolean;
  unitField?: contract.UpdateJobInput['unitFields'];
  onFailure?: contract.UpdateJobInput['onFailure'];
  uidPolicy?: contract.UpdateJobInput['uidPolicy'];
}

interface ReplaceOptions {
  name?: string;
  description?: string;
  delivery?: 'direct' | 'cloud';
  encryptionKey?: string;
  step?: string[];
  wait: boolean;
  waitTimeout: number;
}

/** The PATCH body from the command line: only what was given; the API validates it again and names bad fields. */
export function updateBody(options: UpdateOptions): contract.UpdateJobInput {
  if (options.targetGroup && options.allProgrammers) throw new UsageError('give --target-group or --all-programmers, not both');
  const restrictions = {
    maxCount: options.maxCount,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    maxLeaseSeconds: options.maxLeaseSeconds,
    autoPause: options.autoPause === false ? null : options.autoPause,
  };
  const body: contract.UpdateJobInput = {
    restrictions: Object.values(restrictions).some((value) => value !== undefined) ? restrictions : undefined,
    targetGroupIds: options.allProgrammers ? null : options.targetGroup,
    unitFields: options.unitField,
    onFailure: options.onFailure,
    uidPolicy: options.uidPolicy,
  };
  const given = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as contract.UpdateJobInput;
  if (Object.keys(given).length === 0) throw new UsageError('give something to change: a restriction, --target-group, --all-programmers, --unit-field, --on-failure or --uid-policy');
  return given;
}

/** Up to `limit` items of a `since`-paged list, oldest first. */
async function collectSince<R extends typeof contract.listJobLogs | typeof contract.listJobResults>(
  client: FlashlineClient,
  route: R,
  jobId: string,
  since: string | undefined,
  limit: number,
): Promise<ListItemOf<R>[]> {
  const items: ListItemOf<R>[] = [];
  for await (const item of client.paginate(route as typeof contract.listJobLogs, { params: { jobId }, query: { since, limit: Math.min(100, limit) } })) {
    items.push(item as ListItemOf<R>);
    if (items.length >= limit) break;
  }
  return items;
}

// Every field but our own time formatting comes from a device: escaped, one line per log line.
const logText = (line: LogLine) => `${formatTime(line.at)} ${terminalSafe(line.level.toUpperCase().padEnd(5))} ${terminalSafe(line.programmerId)} ${terminalSafe(line.message)}\n`;
/**
 * `--follow`: each poll continues from the API's `followCursor`, so lines come in arrival order,
 * each exactly once, also those a device sends late with an old time.
 */
async function followLogs(context: CommandContext, client: FlashlineClient, jobId: string, since: string | undefined, intervalMs: number): Promise<void> {
  let cursor: string | undefined;
  const signal = context.io.signal;
  while (!signal?.aborted) {
    const read = await client.readFeed(contract.listJobLogs, { params: { jobId }, query: { since, limit: 100 } }, cursor, 10);
    cursor = read.cursor;
    for (const line of read.items) context.io.stdout.write(context.json ? `${jsonText(line)}\n` : logText(line));
    if (read.caughtUp) await (context.io.sleep ?? sleepUnlessAborted)(intervalMs, signal);
  }
}

export function registerJobCommands(program: Command, kit: CommandKit): void {
  const jobs = program.command('jobs').description('jobs: an image deployed to a factory');

  jobs
    .command('ls')
    .description('list jobs (deleted ones only with --status deleted)')
    .option('--factory <factory>', 'only the jobs of this factory (name or id)')
    .option('--status <status>', `one of ${JOB_STATUSES.join(', ')}`, choiceOption(JOB_STATUSES))
    .action(
      kit.action(async (context, options: { factory?: string; status?: (typeof JOB_STATUSES)[number] }) => {
        const client = context.client();
        const factoryId = options.factory ? (await resolveFactory(client, options.factory)).factoryId : undefined;
        const [items, names] = await Promise.all([client.listAll(contract.listJobs, { query: { limit: 100, factoryId, status: options.status } }), factoryNames(client)]);
        context.print({ items }, () =>
          renderTable(items, [
            { header: 'JOB', value: (j) => j.jobId },
            { header: 'NAME', value: (j) => j.name },
            { header: 'FACTORY', value: (j) => names.get(j.factoryId) ?? j.factoryId },
            { header: 'STATUS', value: (j) => j.status },
            { header: 'RUN', value: (j) => j.run, align: 'right' },
            { header: 'AUTHORIZED', value: (j) => j.counters.authorized, align: 'right' },
            { header: 'OK', value: (j) => j.counters.succeeded, align: 'right' },
            { header: 'FAILED', value: (j) => j.counters.failed, align: 'right' },
            { header: 'REMAINING', value: (j) => j.counters.remaining ?? '∞', align: 'right' },
            { header: 'YIELD', value: (j) => formatYield(j.counters.succeeded, j.counters.failed), align: 'right' },
          ]),
        );
      }),
    );

  jobs
    .command('show')
    .description('show a job with its live counters')
    .argument('<jobId>')
    .action(
      kit.action(async (context, jobId: string) => {
        const client = context.client();
        const { job } = await client.call(contract.getJob, { params: { jobId } });
        const link = context.consoleLink(job.jobId);
        const factoryName = context.json ? undefined : (await factoryNames(client)).get(job.factoryId);
        context.print({ job, consoleLink: link }, () => jobFields(job, factoryName, link));
      }),
    );

  jobs
    .command('update')
    .description('change a job (author): restrictions and targets at any time; unit fields, --on-failure and --uid-policy only before its first authorization')
    .argument('<jobId>')
    .option('--max-count <n>', 'most units that may be programmed (not below those authorized)', integerOption(1, 1_000_000_000))
    .option('--not-before <time>', 'no programming before this date/time', timestampOption)
    .option('--not-after <time>', 'no programming after this date/time', timestampOption)
    .option('--max-lease-seconds <n>', 'the longest lease a programmer may ask for', integerOption(1))
    .option('--auto-pause <rate:minUnits>', 'pause the job once MIN_UNITS results are in and failures reach RATE (0–1), e.g. 0.05:100', autoPauseOption)
    .option('--no-auto-pause', 'remove the yield guardrail')
    .option('--target-group <groupId>', 'only programmers of this group (name or id) of the job\'s factory (repeatable; replaces the targets)', collect)
    .option('--all-programmers', 'every programmer of the factory again')
    .option('--unit-field <name=kind:id>', `per-unit data, replacing the job's (repeatable): ${UNIT_FIELD_SOURCES.join(', ')}`, (text: string, previous: UpdateOptions['unitField']) => [...(previous ?? []), parseUnitField(text)])
    .addOption(new Option('--on-failure <what>', "a failed unit's values: consume or return").argParser(choiceOption(contract.OnFailure.options)))
    .addOption(new Option('--uid-policy <policy>', 'chip UIDs programmed at most once per job or per account').argParser(choiceOption(contract.UidPolicy.options)))
    .action(
      kit.action(async (context, jobId: string, options: UpdateOptions) => {
        const body = updateBody(options);
        const client = context.client();
        if (body.targetGroupIds) {
          // Groups are named within the job's factory.
          const { job: current } = await client.call(contract.getJob, { params: { jobId } });
          body.targetGroupIds = (await Promise.all(body.targetGroupIds.map((group) => resolveGroup(client, current.factoryId, group)))).map((g) => g.groupId);
        }
        const { job } = await client.call(contract.updateJob, { params: { jobId }, body });
        const link = context.consoleLink(job.jobId);
        const factoryName = context.json ? undefined : (await factoryNames(client)).get(job.factoryId);
        context.print({ job, consoleLink: link }, () => jobFields(job, factoryName, link));
      }),
    );

  jobs
    .command('replace')
    .description('give a job a new image (author): it keeps its counters, serial position, unit data, restrictions and targets; the old binding is refused from now on')
    .argument('<jobId>')
    .argument('<file>', 'the new generated (encrypted, for cloud delivery) image file')
    .option('--name <name>', 'image name (default: the file name)')
    .option('--description <text>')
    .addOption(new Option('--delivery <mode>', 'direct or cloud (default: cloud with --encryption-key, else direct)').argParser(choiceOption(['direct', 'cloud'] as const)))
    .option('--encryption-key <id>', 'id of the key the image is encrypted with (required for cloud delivery)')
    .option('--step <kind[:description]>', `a programming step (repeatable); kinds: ${contract.StepKind.options.join(', ')}`, collect)
    .option('--no-wait', 'do not wait for the verifier after the upload')
    .option('--wait-timeout <seconds>', 'how long to wait for the verifier', integerOption(1, 3600), 300)
    .action(
      kit.action(async (context, jobId: string, file: string, options: ReplaceOptions) => {
        const client = context.client();
        const { absolute, sizeBytes } = readableImage(context, file);
        const body: contract.ReplaceImageInput = {
          name: options.name ?? path.basename(absolute),
          description: options.description,
          contentSha256: await sha256File(absolute),
          sizeBytes,
          delivery: options.delivery ?? (options.encryptionKey ? 'cloud' : 'direct'),
          encryptionKeyId: options.encryptionKey,
          steps: options.step?.map(parseStep),
        };
        const replaced = await client.call(contract.replaceJobImage, { params: { jobId }, body });
        context.note(`Job ${replaced.job.jobId} now has image ${replaced.image.imageId} (version ${replaced.job.imageVersion})`);
        const { latest, result } = await deliverImage(context, client, replaced, absolute, sizeBytes, options);
        context.print(result, () =>
          renderFields([
            ['Replaced', `the image of ${replaced.job.name} (${replaced.job.jobId}), now version ${replaced.job.imageVersion}`],
            ['Image', `${latest.imageId} (${latest.status}; ${latest.delivery} delivery)`],
            ['SHA-256', latest.contentSha256],
            ['Binding', replaced.binding],
            ['View online', result.consoleLink ?? '-'],
          ]),
        );
      }),
    );

  const transitions = [
    ['pause', contract.pauseJob, 'Paused', 'pause a job: programmers stop seeing it and are refused with job_paused'],
    ['resume', contract.resumeJob, 'Resumed', 'resume a paused job'],
    ['restart', contract.restartJob, 'Restarted', 'start a new run: counters restart, history is kept, serial numbers continue'],
    ['rm', contract.deleteJob, 'Deleted', 'delete a job and its cloud image at once (then listed only with --status deleted); asks first on a terminal'],
  ] as const;
  for (const [verb, route, past, description] of transitions) {
    const command = jobs.command(verb).description(description).argument('<jobId>');
    if (verb === 'rm') command.option('-y, --yes', YES_HELP);
    command.action(
      kit.action(async (context, jobId: string, options: { yes?: boolean }) => {
        const client = context.client();
        if (verb === 'rm') {
          const confirm = context.confirmation('jobs rm', options.yes);
          if (!options.yes) {
            const { job } = await client.call(contract.getJob, { params: { jobId } });
            await confirm(`Delete job ${job.name} (${job.jobId}) and its cloud image?`);
          }
        }
        const { job } = await client.call(route as typeof contract.pauseJob, { params: { jobId } });
        context.print({ job }, () => `${past} ${job.name} (${job.jobId}): ${job.status}, run ${job.run}\n`);
      }),
    );
  }

  jobs
    .command('logs')
    .description("a job's log lines, oldest first")
    .argument('<jobId>')
    .option('--since <time>', 'only lines that arrived at or after this time (the cloud\'s clock)', timestampOption)
    .option('--limit <n>', 'at most this many lines (without --follow)', integerOption(1, 100_000), 1000)
    .option('-f, --follow', 'keep printing new lines until Ctrl-C (JSON: one line per log line)')
    .option('--interval <ms>', 'poll interval with --follow', integerOption(200, 60_000), 2000)
    .action(
      kit.action(async (context, jobId: string, options: { since?: string; limit: number; follow?: boolean; interval: number }) => {
        const client = context.client();
        if (options.follow) return followLogs(context, client, jobId, options.since, options.interval);
        const items: LogLine[] = await collectSince(client, contract.listJobLogs, jobId, options.since, options.limit);
        context.print({ items }, () => (items.length === 0 ? '(no log lines)\n' : items.map(logText).join('')));
      }),
    );

  jobs
    .command('results')
    .description("a job's programming results, oldest first")
    .argument('<jobId>')
    .option('--since <time>', 'only results reported at or after this time', timestampOption)
    .option('--limit <n>', 'at most this many results', integerOption(1, 100_000), 1000)
    .action(
      kit.action(async (context, jobId: string, options: { since?: string; limit: number }) => {
        const items = (await collectSince(context.client(), contract.listJobResults, jobId, options.since, options.limit)) as ResultRecord[];
        context.print({ items }, () =>
          renderTable(
            items,
            [
              { header: 'SERIAL', value: (r) => r.serial },
              { header: 'STATUS', value: (r) => r.status },
              { header: 'ERROR', value: (r) => r.errorCode },
              { header: 'MS', value: (r) => r.durationMs, align: 'right' },
              { header: 'RUN', value: (r) => r.run, align: 'right' },
              { header: 'PROGRAMMER', value: (r) => r.programmerId },
              { header: 'AT', value: (r) => formatTime(r.at) },
            ],
            '(no results)',
          ),
        );
      }),
    );
}
