import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { FlashlineClient } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { RetriesExhaustedError, retry } from '../../shared/retry.js';
import type { CommandContext } from '../context.js';
import { CliFailure, UsageError } from '../errors.js';
import { sleepUnlessAborted } from '../io.js';
import { choiceOption, collect, integerOption, timestampOption } from '../options.js';
import { formatBytes, renderFields, terminalSafe } from '../output.js';
import type { CommandKit } from '../program.js';
import { createProgress } from '../progress.js';
import { resolveFactory } from '../resolve.js';
import { putFile } from '../upload.js';

type Image = contract.RegisterImageInput;
type StepKind = NonNullable<Image['steps']>[number]['kind'];
const STEP_KINDS = contract.StepKind.options;

interface PublishOptions {
  factory: string;
  name?: string;
  description?: string;
  delivery?: 'direct' | 'cloud';
  encryptionKey?: string;
  maxCount?: number;
  notBefore?: string;
  notAfter?: string;
  serialStart?: number;
  serialStep?: number;
  serialFormat?: string;
  step?: string[];
  unitField?: UnitField[];
  onFailure?: Image['onFailure'];
  uidPolicy?: Image['uidPolicy'];
  wait: boolean;
  waitTimeout: number;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function parseStep(text: string): { kind: StepKind; description?: string } {
  const [kind, ...rest] = text.split(':');
  if (!(STEP_KINDS as readonly string[]).includes(kind ?? '')) throw new UsageError(`--step ${text}: the kind must be one of ${STEP_KINDS.join(', ')}`);
  const description = rest.join(':').trim();
  return description ? { kind: kind as StepKind, description } : { kind: kind as StepKind };
}

type UnitField = NonNullable<Image['unitFields']>[number];

/** The `--unit-field` sources, as `NAME=KIND:ID` names them. */
export const UNIT_FIELD_SOURCES = ['serial-pool:ID', 'mac-block:ID[:PER_UNIT]', 'ca:ID', 'data-list:ID'] as const;

/** `NAME=serial-pool:ID`, `NAME=mac-block:ID[:PER_UNIT]` (1 address a unit unless given), `NAME=ca:ID`, `NAME=data-list:ID`. */
export function parseUnitField(text: string): UnitField {
  const fail = (why: string) => new InvalidArgumentError(`${why} (NAME=${UNIT_FIELD_SOURCES.join(' | ')})`);
  const equals = text.indexOf('=');
  if (equals < 1) throw fail('give the field name before =');
  const name = text.slice(0, equals);
  const [kind, id, perUnit, ...extra] = text.slice(equals + 1).split(':');
  if (!id || extra.length > 0) throw fail('give the source as KIND:ID');
  if (kind === 'mac-block') {
    if (perUnit !== undefined && !/^\d+$/.test(perUnit)) throw fail('PER_UNIT must be a whole number of addresses');
    return { name, source: { macBlock: id, perUnit: perUnit === undefined ? 1 : Number(perUnit) } };
  }
  if (perUnit !== undefined) throw fail('only a mac-block takes a third part');
  if (kind === 'serial-pool') return { name, source: { serialPool: id } };
  if (kind === 'ca') return { name, source: { certificateAuthority: id } };
  if (kind === 'data-list') return { name, source: { dataList: id } };
  throw fail(`unknown source kind ${JSON.stringify(kind)}`);
}

/** The register body from the command line; the API validates it again and names bad fields. */
export function registerBody(file: string, sizeBytes: number, sha256: string, factoryId: string, options: Omit<PublishOptions, 'factory' | 'wait' | 'waitTimeout'>): Image {
  const hasSerialOptions = options.serialStep !== undefined || options.serialFormat !== undefined;
  if (hasSerialOptions && options.serialStart === undefined) throw new UsageError('--serial-step and --serial-format need --serial-start');
  const restrictions = { maxCount: options.maxCount, notBefore: options.notBefore, notAfter: options.notAfter };
  return {
    name: options.name ?? path.basename(file),
    description: options.description,
    factoryId,
    contentSha256: sha256,
    sizeBytes,
    // Cloud delivery needs an encrypted image, so an encryption key id means cloud unless told otherwise.
    delivery: options.delivery ?? (options.encryptionKey ? 'cloud' : 'direct'),
    encryptionKeyId: options.encryptionKey,
    restrictions: Object.values(restrictions).some((value) => value !== undefined) ? restrictions : undefined,
    serials: options.serialStart === undefined ? undefined : { start: options.serialStart, step: options.serialStep, format: options.serialFormat },
    steps: options.step?.map(parseStep),
    unitFields: options.unitField,
    onFailure: options.onFailure,
    uidPolicy: options.uidPolicy,
  };
}

const UPLOAD_ATTEMPTS = 3;

/** A failed PUT that another attempt, with a fresh URL, may get through (5xx, 403 of an expired URL, a broken connection). */
class UploadAttemptError extends Error {
  override readonly name = 'UploadAttemptError';
}

async function upload(context: CommandContext, client: FlashlineClient, imageId: string, first: { url: string; headers: Record<string, string> }, file: string, sizeBytes: number): Promise<number> {
  const started = performance.now();
  let instructions = first;
  try {
    await retry(
      async (attempt) => {
        // The presigned URL may have expired (403): ask for a fresh one, which is safe to repeat.
        if (attempt > 1) ({ upload: instructions } = await client.call(contract.createUploadUrl, { params: { imageId } }));
        const progress = createProgress(context.io.stderr, 'Uploading', sizeBytes);
        let result: Awaited<ReturnType<typeof putFile>>;
        try {
          result = await putFile(instructions.url, instructions.headers, file, sizeBytes, (sent) => progress.update(sent), context.io.signal);
        } catch (error) {
          throw new UploadAttemptError((error as Error).message);
        }
        progress.finish();
        if (result.status >= 200 && result.status < 300) return;
        const failure = `storage answered ${result.status}: ${result.body.slice(0, 300)}`;
        throw result.status < 500 && result.status !== 403 ? new CliFailure('upload_failed', failure) : new UploadAttemptError(failure);
      },
      {
        maxAttempts: UPLOAD_ATTEMPTS,
        baseDelayMs: 500,
        maxDelayMs: 4_000,
        retryable: (error) => error instanceof UploadAttemptError && !context.io.signal?.aborted,
        onRetry: (error, attempt) => context.note(`Upload attempt ${attempt} failed (${(error as Error).message}); retrying with a fresh upload URL`),
      },
    );
  } catch (error) {
    // The image stays registered (pending_upload): say how to finish it rather than register again.
    const resume = `; the image is registered: finish it with flashline image upload ${imageId} ${path.basename(file)}`;
    if (error instanceof RetriesExhaustedError) throw new CliFailure('upload_failed', `upload failed after ${error.attempts} attempts: ${(error.cause as Error).message}${resume}`, { imageId });
    if (error instanceof UploadAttemptError) throw new CliFailure('upload_failed', `upload failed: ${error.message}${resume}`, { imageId });
    if (error instanceof CliFailure && error.code === 'upload_failed') throw new CliFailure('upload_failed', `${error.message}${resume}`, { imageId });
    throw error;
  }
  return performance.now() - started;
}

/** The image file named on the command line, with its size; a usage error when it cannot be read. */
export function readableImage(context: CommandContext, file: string): { absolute: string; sizeBytes: number } {
  const absolute = path.resolve(context.io.cwd, file);
  try {
    return { absolute, sizeBytes: statSync(absolute).size };
  } catch {
    throw new UsageError(`cannot read ${absolute}`);
  }
}

type Registered = contract.ResponseOf<typeof contract.registerImage>;

/** A rejected upload is the command's failure (exit 1), with the verifier's reason on stderr. */
function reportRejection(context: CommandContext, image: Registered['image']): void {
  if (image.status !== 'rejected') return;
  context.fail();
  context.io.stderr.write(`flashline: the cloud rejected the upload: ${terminalSafe(image.rejectionReason ?? 'no reason given')} [image_rejected]\n`);
}

/**
 * After a register or a replace: uploads a cloud image to its presigned URL, waits for the
 * verifier unless told not to, and reports a rejection on stderr (exit 1). Returns the image as
 * last seen and the command's JSON result.
 */
export async function deliverImage(context: CommandContext, client: FlashlineClient, registered: Registered, absolute: string, sizeBytes: number, options: { wait: boolean; waitTimeout: number }) {
  let latest = registered.image;
  let uploadMs: number | null = null;
  if (registered.upload) {
    uploadMs = await upload(context, client, registered.image.imageId, registered.upload, absolute, sizeBytes);
    if (options.wait) latest = await waitForVerifier(context, client, registered.image.imageId, options.waitTimeout);
  }
  const result = { image: latest, job: registered.job, binding: registered.binding, upload: uploadMs === null ? null : { bytes: sizeBytes, ms: Math.round(uploadMs) }, consoleLink: context.consoleLink(registered.job.jobId) };
  reportRejection(context, latest);
  return { latest, result };
}

async function waitForVerifier(context: CommandContext, client: FlashlineClient, imageId: string, timeoutSeconds: number) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  context.note('Waiting for the cloud to verify size and SHA-256 …');
  for (let delay = 250; ; delay = Math.min(2000, delay * 1.5)) {
    const { image } = await client.call(contract.getImage, { params: { imageId } });
    if (image.status !== 'pending_upload') return image;
    if (Date.now() > deadline || context.io.signal?.aborted) {
      throw new CliFailure('verification_timeout', `image ${imageId} is still pending_upload after ${timeoutSeconds} s`, { imageId });
    }
    await (context.io.sleep ?? sleepUnlessAborted)(delay, context.io.signal);
  }
}

export function registerImageCommands(program: Command, kit: CommandKit): void {
  const image = program.command('image').description('programming images');

  image
    .command('publish')
    .description('register an image for a factory (creates its job); for cloud delivery upload it and wait until it is verified')
    .argument('<file>', 'the generated (encrypted, for cloud delivery) image file')
    .requiredOption('--factory <factory>', 'name or id of the Virtual Factory')
    .option('--name <name>', 'image name (default: the file name)')
    .option('--description <text>')
    .addOption(new Option('--delivery <mode>', 'direct: only metadata goes to the cloud; cloud: the image is uploaded and distributed (default: cloud with --encryption-key, else direct)').argParser(choiceOption(['direct', 'cloud'] as const)))
    .option('--encryption-key <id>', 'id of the key the image is encrypted with (required for cloud delivery)')
    .option('--max-count <n>', 'most units that may be programmed', integerOption(1, 1_000_000_000))
    .option('--not-before <time>', 'no programming before this date/time', timestampOption)
    .option('--not-after <time>', 'no programming after this date/time', timestampOption)
    .option('--serial-start <n>', 'first serial number', integerOption(0))
    .option('--serial-step <n>', 'serial number increment', integerOption(1, 1_000_000))
    .option('--serial-format <format>', 'e.g. SN-{n:08}')
    .option('--step <kind[:description]>', `a programming step (repeatable); kinds: ${STEP_KINDS.join(', ')}`, collect)
    .option('--unit-field <name=kind:id>', `per-unit data (repeatable): ${UNIT_FIELD_SOURCES.join(', ')}; e.g. board=serial-pool:spl_…`, (text: string, previous: UnitField[] | undefined) => [...(previous ?? []), parseUnitField(text)])
    .addOption(new Option('--on-failure <what>', "a failed unit's values: consume (spent) or return (handed out again)").argParser(choiceOption(contract.OnFailure.options)))
    .addOption(new Option('--uid-policy <policy>', 'chip UIDs programmed at most once per job or per account').argParser(choiceOption(contract.UidPolicy.options)))
    .option('--no-wait', 'do not wait for the verifier after the upload')
    .option('--wait-timeout <seconds>', 'how long to wait for the verifier', integerOption(1, 3600), 300)
    .action(
      kit.action(async (context, file: string, options: PublishOptions) => {
        const client = context.client();
        const { absolute, sizeBytes } = readableImage(context, file);
        const factory = await resolveFactory(client, options.factory);
        const sha256 = await sha256File(absolute);
        const registered = await client.call(contract.registerImage, { body: registerBody(absolute, sizeBytes, sha256, factory.factoryId, options) });
        context.note(`Registered image ${registered.image.imageId}, job ${registered.job.jobId}`);
        const { latest, result } = await deliverImage(context, client, registered, absolute, sizeBytes, options);
        const link = result.consoleLink;
        const { job } = registered;
        context.print(result, () =>
          renderFields([
            ['Published', `${latest.name} to ${factory.name}`],
            ['Image', `${latest.imageId} (${latest.status}; ${formatBytes(latest.sizeBytes)}, ${latest.delivery} delivery)`],
            ['SHA-256', latest.contentSha256],
            ['Job', `${job.jobId} (${job.status}${job.restrictions.maxCount === null ? '' : `; max count ${job.restrictions.maxCount}`})`],
            ['Binding', registered.binding],
            ['View online', link ?? '(set FLASHLINE_CONSOLE_URL to get the console link)'],
          ]),
        );
      }),
    );

  image
    .command('upload')
    .description('upload a registered cloud image that is still pending_upload (after a failed or interrupted publish), then wait for the verifier')
    .argument('<imageId>')
    .argument('<file>', 'the same file that was registered (its size and SHA-256 are checked first)')
    .option('--no-wait', 'do not wait for the verifier after the upload')
    .option('--wait-timeout <seconds>', 'how long to wait for the verifier', integerOption(1, 3600), 300)
    .action(
      kit.action(async (context, imageId: string, file: string, options: { wait: boolean; waitTimeout: number }) => {
        const client = context.client();
        const { absolute, sizeBytes } = readableImage(context, file);
        const { image: registered } = await client.call(contract.getImage, { params: { imageId } });
        if (registered.status !== 'pending_upload') throw new CliFailure('invalid_state', `image ${imageId} is ${registered.status}: nothing to upload`, { status: registered.status });
        if (sizeBytes !== registered.sizeBytes) throw new UsageError(`${absolute} is ${sizeBytes} bytes; image ${imageId} was registered with ${registered.sizeBytes}`);
        if ((await sha256File(absolute)) !== registered.contentSha256) throw new UsageError(`${absolute} is not the file image ${imageId} was registered with (SHA-256 differs)`);
        const { upload: instructions } = await client.call(contract.createUploadUrl, { params: { imageId } });
        const uploadMs = await upload(context, client, imageId, instructions, absolute, sizeBytes);
        const latest = options.wait ? await waitForVerifier(context, client, imageId, options.waitTimeout) : registered;
        reportRejection(context, latest);
        context.print({ image: latest, upload: { bytes: sizeBytes, ms: Math.round(uploadMs) } }, () => `Uploaded ${latest.name} (${latest.imageId}): ${latest.status}\n`);
      }),
    );

  image
    .command('show')
    .description('show an image: metadata and verification status')
    .argument('<imageId>')
    .action(
      kit.action(async (context, imageId: string) => {
        const { image: found } = await context.client().call(contract.getImage, { params: { imageId } });
        context.print({ image: found }, () =>
          renderFields([
            ['Image', `${found.name} (${found.imageId})`],
            ['Status', found.rejectionReason ? `${found.status}: ${found.rejectionReason}` : found.status],
            ['Delivery', found.delivery],
            ['Size', formatBytes(found.sizeBytes)],
            ['SHA-256', found.contentSha256],
            ['Encryption key', found.encryptionKeyId],
            ['Job', found.jobId],
            ['Steps', found.steps.map((step) => step.kind).join(' → ') || '-'],
          ]),
        );
      }),
    );
}
