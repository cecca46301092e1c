import { createHash, randomUUID } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { CredentialsFileType } from '../../shared/contract/account.js';
import { FlashlineApiError, FlashlineClient, type ListItemOf, type RetryPolicy } from '../../shared/contract/client.js';
import * as contract from '../../shared/contract/index.js';
import { sleepUnlessAborted } from '../io.js';
import { unitOutcome } from './prng.js';
import { type LatencySummary, LatencyRecorder } from './stats.js';
import { BINDING_TYPE, JwsVerifier, TICKET_TYPE, bindingClaimProblems, ticketClaimProblems } from './tickets.js';
import { certificateProblems, deviceKeyRequest, fakeChipUid } from './unit-identity.js';

type DeviceJob = ListItemOf<typeof contract.listDeviceJobs>;
type Authorization = contract.ResponseOf<typeof contract.authorizeProgramming>;
type ResultInput = contract.BodyInputOf<typeof contract.reportResults>['results'][number];
type LogInput = contract.BodyInputOf<typeof contract.appendLogs>['lines'][number];

/** How often, and how long, a programmer asks again for a replacing image that is still being uploaded: two minutes. */
const PENDING_IMAGE_POLL_MS = 1000;
const MAX_PENDING_IMAGE_POLLS = 120;

export interface SimulatorOptions {
  /** One credentials file per simulated programmer (role `programmer`). */
  programmers: readonly CredentialsFileType[];
  /** The job to program; default: the first active job of the first programmer's factory. */
  jobId?: string;
  /** Units to program across all programmers; default: until the job refuses (e.g. its count limit). */
  units?: number;
  /** Units asked for per authorization (1–1000). */
  batch?: number;
  /** Parallel lanes per programmer (sockets of a gang programmer). */
  concurrency?: number;
  /** Share of units that fail, 0–1; which ones is decided by the seed and the serial number. */
  failureRate?: number;
  seed?: string;
  /** Simulated programming time per unit. */
  programMs?: number;
  /** The image's binding (as the image tool embeds it): verified, then sent with every authorization. */
  binding?: string;
  /** Aborting stops the lanes after the units they hold are reported. */
  signal?: AbortSignal;
  /** Human progress notes. */
  onNote?: (line: string) => void;
  /** Send log lines after each authorization (benchmarks of the authorization path turn it off). */
  sendLogs?: boolean;
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
}

/** Why the run ended: the units were done, a refusal code (e.g. `job_completed`, `job_paused`), an error, or Ctrl-C. */
export type StopReason = 'units_done' | 'interrupted' | 'error' | 'no_job' | (string & {});

export interface SimulationSummary {
  /** True when the run did what was asked: all units, or the job's count limit reached, without errors. */
  ok: boolean;
  stopReason: StopReason;
  jobId: string | null;
  jobName: string | null;
  delivery: 'direct' | 'cloud' | null;
  programmers: number;
  lanes: number;
  batch: number;
  seed: string;
  failureRate: number;
  /** Units programmed and reported (successes + failures). */
  units: number;
  successes: number;
  failures: number;
  authorizedUnits: number;
  authorizations: number;
  /** Units given back by releasing authorizations it stopped using (pause, error, Ctrl-C). */
  returnedUnits: number;
  ticketsVerified: number;
  /** Device certificates asked for (jobs with a certificate field) whose chain, key, serial and UID checked out. */
  certificatesVerified: number;
  /** null: no binding was given. */
  bindingVerified: boolean | null;
  imagesVerified: number;
  /** Times the job's image was replaced during the run and the programmers moved on to the new one (`409 image_replaced`). */
  imagesFollowed: number;
  refusals: Record<string, number>;
  errors: string[];
  durationMs: number;
  requests: number;
  requestsPerSecond: number;
  authorizationsPerSecond: number;
  unitsPerSecond: number;
  /** Per request kind: the route's operationId, or `imageDownload` for the presigned GET. */
  latency: Record<string, LatencySummary>;
}

export class SimulatorSetupError extends Error {
  override readonly name = 'SimulatorSetupError';
}

class UnitBudget {
  constructor(private left: number) {}
  take(max: number): number {
    const units = Math.min(max, this.left);
    this.left -= units;
    return units;
  }
  give(units: number): void {
    this.left += units;
  }
}

interface Programmer {
  credentials: CredentialsFileType & { programmerId: string };
  client: FlashlineClient;
  label: string;
}

/** Runs simulated programmers against one job; resolves with the summary, never throws for API answers. */
export async function simulate(options: SimulatorOptions): Promise<SimulationSummary> {
  const batch = options.batch ?? 10;
  const concurrency = options.concurrency ?? 1;
  const failureRate = options.failureRate ?? 0;
  const seed = options.seed ?? '1';
  /** Chips each programmer has read so far: the next fake UID is the next of its sequence. */
  const chipsRead = new Map<string, number>();
  const readChip = (programmerId: string, jobId: string) => {
    const unit = (chipsRead.get(programmerId) ?? 0) + 1;
    chipsRead.set(programmerId, unit);
    return fakeChipUid(seed, programmerId, jobId, unit);
  };
  const programMs = options.programMs ?? 10;
  const note = options.onNote ?? (() => undefined);
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => globalThis.fetch(...args));
  if (!Number.isInteger(batch) || batch < 1 || batch > contract.MAX_UNITS_PER_AUTHORIZATION) throw new SimulatorSetupError(`batch must be 1–${contract.MAX_UNITS_PER_AUTHORIZATION}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SimulatorSetupError('concurrency must be at least 1');
  if (!(failureRate >= 0 && failureRate <= 1)) throw new SimulatorSetupError('failure rate must be between 0 and 1');
  if (options.units !== undefined && (!Number.isInteger(options.units) || options.units < 1)) throw new SimulatorSetupError('units must be a positive integer');
  if (options.programmers.length === 0) throw new SimulatorSetupError('no programmer credentials given');

  const latency = new LatencyRecorder();
  const programmers: Programmer[] = options.programmers.map((credentials, i) => {
    if (credentials.role !== 'programmer' || !credentials.programmerId) {
      throw new SimulatorSetupError(`credentials ${i + 1} (key ${credentials.keyId}) are not programmer credentials (role ${credentials.role})`);
    }
    const client = FlashlineClient.fromCredentials(credentials, {
      fetch: options.fetch,
      retry: options.retry,
      userAgent: 'flashline-simulator',
      onAttempt: (event) => latency.record(event.operationId, event.durationMs),
    });
    return { credentials: credentials as Programmer['credentials'], client, label: `programmer ${credentials.programmerId}` };
  });

  const summary: SimulationSummary = {
    ok: false,
    stopReason: 'units_done',
    jobId: null,
    jobName: null,
    delivery: null,
    programmers: programmers.length,
    lanes: programmers.length * concurrency,
    batch,
    seed,
    failureRate,
    units: 0,
    successes: 0,
    failures: 0,
    authorizedUnits: 0,
    authorizations: 0,
    returnedUnits: 0,
    ticketsVerified: 0,
    certificatesVerified: 0,
    bindingVerified: options.binding === undefined ? null : false,
    imagesVerified: 0,
    imagesFollowed: 0,
    refusals: {},
    errors: [],
    durationMs: 0,
    requests: 0,
    requestsPerSecond: 0,
    authorizationsPerSecond: 0,
    unitsPerSecond: 0,
    latency: {},
  };
  let stopReason: StopReason | null = null;
  const stop = (reason: StopReason) => {
    stopReason ??= reason;
  };
  const stopped = () => stopReason !== null || options.signal?.aborted === true;
  // Units already held are still programmed when the limit is reached elsewhere; any other stop leaves them.
  const mustLeaveUnits = () => options.signal?.aborted === true || (stopReason !== null && stopReason !== 'job_completed' && stopReason !== 'units_done');
  const refuse = (code: string) => {
    summary.refusals[code] = (summary.refusals[code] ?? 0) + 1;
  };
  const fail = (where: string, error: unknown) => {
    const message = error instanceof FlashlineApiError ? `${error.message} [${error.code} ${error.status}]` : (error as Error).message;
    summary.errors.push(`${where}: ${message}`);
    stop('error');
  };
  const isRefusal = (error: unknown): error is FlashlineApiError => error instanceof FlashlineApiError && error.status === 409;

  const binding = options.binding;
  /** Per programmer and new image: the one move to it that every lane of the programmer waits for. */
  const moves = new Map<string, Promise<{ job: DeviceJob; binding: string }>>();
  const imagesFollowed = new Set<string>();
  const started = performance.now();
  const verifier = new JwsVerifier(async () => (await programmers[0]!.client.call(contract.getSigningKeys)) as JSONWebKeySet);

  try {
    // Every programmer lists its jobs, as a device does when it starts.
    const listings = await Promise.all(programmers.map((p) => p.client.call(contract.listDeviceJobs).then((page) => page.items)));
    const firstListing = listings[0]!;
    const wantedId = options.jobId ?? firstListing[0]?.jobId;
    if (!wantedId) {
      summary.errors.push(`no active job in the factory of ${programmers[0]!.label}`);
      stop('no_job');
      return finish();
    }
    summary.jobId = wantedId;
    const jobs = new Map<Programmer, DeviceJob>();
    await Promise.all(
      programmers.map(async (programmer, i) => {
        const job = listings[i]!.find((item) => item.jobId === wantedId);
        if (job) jobs.set(programmer, job);
        else refuse(await whyNotListed(programmer, wantedId));
      }),
    );
    const reference = jobs.values().next().value as DeviceJob | undefined;
    if (!reference) {
      stop(Object.keys(summary.refusals)[0] ?? 'job_not_listed');
      return finish();
    }
    summary.jobName = reference.name;
    summary.delivery = reference.delivery;
    note(`Job ${reference.name} (${reference.jobId}): ${reference.delivery} delivery, ${reference.counters.remaining ?? 'unlimited'} units remaining`);

    if (binding !== undefined) {
      await checkBinding(binding, reference);
      summary.bindingVerified = true;
    }

    const ready: Programmer[] = [];
    await Promise.all(
      [...jobs.entries()].map(async ([programmer, job]) => {
        if (job.delivery === 'cloud') {
          try {
            await downloadAndCheck(programmer, job);
          } catch (error) {
            if (isRefusal(error)) {
              refuse(error.code);
              note(`${programmer.label}: download refused: ${error.message} [${error.code}]`);
              return;
            }
            throw error;
          }
        }
        ready.push(programmer);
      }),
    );
    if (ready.length === 0) {
      stop(Object.keys(summary.refusals)[0] ?? 'refused');
      return finish();
    }

    const budget = new UnitBudget(options.units ?? Number.POSITIVE_INFINITY);
    const lanes = ready.flatMap((programmer) => Array.from({ length: concurrency }, () => runLane(programmer, jobs.get(programmer)!, budget)));
    await Promise.all(lanes);
  } catch (error) {
    fail('setup', error);
  }
  return finish();

  /**
   * Paused, deleted and other factories' jobs are not listed, so a device would not offer them.
   * To say which, ask the download-url route: it changes nothing and refuses with the job's
   * state (job_paused, job_deleted, wrong_factory, or 404 for a job of another account).
   */
  async function whyNotListed(programmer: Programmer, jobId: string): Promise<string> {
    let code = 'job_not_listed';
    try {
      await programmer.client.call(contract.createDownloadUrl, { params: { jobId } });
    } catch (error) {
      if (!(error instanceof FlashlineApiError)) throw error;
      if (error.status === 404 || (isRefusal(error) && !['image_not_available', 'missing_encryption_key'].includes(error.code))) code = error.code;
    }
    note(`${programmer.label}: job ${jobId} is not among its active jobs (${code === 'job_not_listed' ? 'completed, expired, or not visible to it' : code})`);
    return code;
  }

  async function checkBinding(jws: string, job: DeviceJob): Promise<void> {
    const claims = await verifier.verify(jws, BINDING_TYPE);
    const problems = bindingClaimProblems(claims, {
      accountId: programmers[0]!.credentials.accountId,
      factoryId: job.factoryId,
      jobId: job.jobId,
      imageId: job.imageId,
      sha256: job.image.contentSha256,
    });
    if (problems.length > 0) throw new Error(`the binding does not match this job: ${problems.join('; ')}`);
  }

  /**
   * The job's image was replaced (`409 image_replaced` names the new image and its binding): as a
   * device does, read the job again, check the new binding against it, fetch a cloud image, and
   * go on with the new binding. The refused request reserved nothing, so nothing is counted twice.
   */
  function followReplacement(programmer: Programmer, jobId: string, details: Record<string, unknown> | undefined): Promise<{ job: DeviceJob; binding: string }> {
    const imageId = String(details?.imageId);
    const key = `${programmer.label}\n${imageId}`;
    if (!moves.has(key)) {
      moves.set(
        key,
        (async () => {
          const listing = await programmer.client.call(contract.listDeviceJobs);
          const job = listing.items.find((item) => item.jobId === jobId);
          if (!job || job.imageId !== imageId) throw new Error(`job ${jobId} does not list the replacing image ${imageId}`);
          await checkBinding(String(details?.binding), job);
          if (job.delivery === 'cloud') await downloadWhenUploaded(programmer, job);
          if (!imagesFollowed.has(imageId)) {
            imagesFollowed.add(imageId);
            summary.imagesFollowed += 1;
          }
          note(`${programmer.label}: the job's image was replaced; now programming image ${imageId} (version ${job.imageVersion ?? '?'})`);
          return { job, binding: String(details?.binding) };
        })(),
      );
    }
    return moves.get(key)!;
  }

  /** A replacing cloud image may still be on its way up: a device asks again until it is verified (or the run stops). */
  async function downloadWhenUploaded(programmer: Programmer, job: DeviceJob): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await downloadAndCheck(programmer, job);
      } catch (error) {
        const pending = error instanceof FlashlineApiError && error.code === 'image_not_available' && error.details?.status === 'pending_upload';
        if (!pending || attempt >= MAX_PENDING_IMAGE_POLLS || stopped()) throw error;
        await sleepUnlessAborted(PENDING_IMAGE_POLL_MS, options.signal);
      }
    }
  }

  async function downloadAndCheck(programmer: Programmer, job: DeviceJob): Promise<void> {
    const download = await programmer.client.call(contract.createDownloadUrl, { params: { jobId: job.jobId } });
    const startedAt = performance.now();
    const response = await fetchImpl(download.url, { signal: AbortSignal.timeout(120_000) });
    const bytes = Buffer.from(await response.arrayBuffer());
    latency.record('imageDownload', performance.now() - startedAt);
    if (!response.ok) throw new Error(`image download answered ${response.status}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const problems = [
      sha256 !== download.sha256 && `SHA-256 ${sha256} differs from the download's ${download.sha256}`,
      sha256 !== job.image.contentSha256 && `SHA-256 ${sha256} differs from the image's ${job.image.contentSha256}`,
      bytes.length !== download.sizeBytes && `size ${bytes.length} differs from ${download.sizeBytes}`,
      bytes.length !== job.image.sizeBytes && `size ${bytes.length} differs from the image's ${job.image.sizeBytes}`,
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`the downloaded image is not the registered one: ${problems.join('; ')}`);
    summary.imagesVerified += 1;
    note(`${programmer.label}: image downloaded and verified (${bytes.length} bytes, SHA-256 ok)`);
  }

  async function runLane(programmer: Programmer, startJob: DeviceJob, budget: UnitBudget): Promise<void> {
    // The image this lane programs and its binding: each lane moves to a replacing image when told, not before.
    let job = startJob;
    let laneBinding = binding;
    let cap = batch;
    // A server before v1.1 sends neither unit fields nor a uidPolicy.
    const certificateField = (job.unitFields ?? []).some((field) => 'certificateAuthority' in field.source);
    while (!stopped()) {
      const units = budget.take(cap);
      if (units === 0) return;
      const nonce = `sim-${randomUUID()}`;
      // A UID job: the chips in the sockets are read first, and named in the request.
      const uids = (job.uidPolicy ?? 'none') === 'none' ? undefined : Array.from({ length: units }, () => readChip(programmer.credentials.programmerId, job.jobId));
      let authorization: Authorization;
      try {
        authorization = await programmer.client.call(contract.authorizeProgramming, { body: { jobId: job.jobId, units, nonce, binding: laneBinding, ...(uids && { uids }) } });
      } catch (error) {
        budget.give(units);
        if (!isRefusal(error)) return fail(`${programmer.label} authorization`, error);
        refuse(error.code);
        if (error.code === 'image_replaced') {
          try {
            ({ job, binding: laneBinding } = await followReplacement(programmer, job.jobId, error.details));
          } catch (followError) {
            return fail(`${programmer.label} image replace`, followError);
          }
          continue;
        }
        const remaining = error.details?.remaining;
        // The limit would be exceeded: ask again for what is left, as the contract invites.
        if (error.code === 'job_completed' && typeof remaining === 'number' && remaining > 0) {
          cap = Math.min(batch, remaining);
          continue;
        }
        return stop(error.code);
      }
      cap = batch;
      const authorizedAt = new Date().toISOString();
      summary.authorizations += 1;
      summary.authorizedUnits += authorization.units;
      try {
        const claims = await verifier.verify(authorization.ticket, TICKET_TYPE);
        const problems = ticketClaimProblems(claims, {
          programmerId: programmer.credentials.programmerId,
          accountId: programmer.credentials.accountId,
          jobId: job.jobId,
          imageId: job.imageId,
          nonce,
          authorizationId: authorization.authorizationId,
          units,
          serials: authorization.serials,
          expiresAt: authorization.expiresAt,
          unitData: authorization.unitData,
        });
        if (uids && JSON.stringify((claims as { uids?: unknown }).uids) !== JSON.stringify(uids)) problems.push('the ticket does not bind the chips read (uids)');
        if (problems.length > 0) throw new Error(`ticket ${authorization.authorizationId} refused: ${problems.join('; ')}`);
        summary.ticketsVerified += 1;
      } catch (error) {
        // A programmer never programs on a ticket it cannot trust.
        return fail(`${programmer.label} ticket`, error);
      }

      const results: ResultInput[] = [];
      for (const serial of authorization.serials) {
        // Paused, failed or interrupted: what is not programmed yet goes back to the job below.
        if (mustLeaveUnits()) break;
        const unitStarted = performance.now();
        if (programMs > 0) await sleepUnlessAborted(programMs);
        const outcome = unitOutcome(seed, serial, failureRate);
        const uid = uids?.[authorization.serials.indexOf(serial)];
        if (certificateField) {
          try {
            const device = await deviceKeyRequest(serial);
            const certificate = await programmer.client.call(contract.issueDeviceCertificate, { body: { authorizationId: authorization.authorizationId, serial, csr: device.csrPem } });
            const problems = certificateProblems({ ...certificate, publicKeySpki: device.publicKeySpki, serial, uid });
            if (problems.length > 0) throw new Error(`certificate of ${serial} refused: ${problems.join('; ')}`);
            summary.certificatesVerified += 1;
          } catch (error) {
            return fail(`${programmer.label} certificate`, error);
          }
        }
        results.push({ serial, ...outcome, ...(uid && { uid }), durationMs: Math.round(performance.now() - unitStarted), at: new Date().toISOString() });
      }
      try {
        for (let i = 0; i < results.length; i += contract.MAX_RESULTS_PER_REQUEST) {
          await programmer.client.call(contract.reportResults, {
            body: { authorizationId: authorization.authorizationId, results: results.slice(i, i + contract.MAX_RESULTS_PER_REQUEST) },
          });
        }
        if (results.length < authorization.serials.length) {
          const release = await programmer.client.call(contract.releaseAuthorization, { params: { authorizationId: authorization.authorizationId } });
          summary.returnedUnits += release.returned;
        }
      } catch (error) {
        return fail(`${programmer.label} results`, error);
      }
      const failed = results.filter((r) => r.status === 'failure');
      summary.units += results.length;
      summary.failures += failed.length;
      summary.successes += results.length - failed.length;

      if (options.sendLogs !== false) {
        // Each line carries the time of what it tells, so the job's log reads in order.
        const lines: LogInput[] = [
          { at: authorizedAt, level: 'info', message: `authorized ${units} unit(s) ${authorization.serials[0]}…${authorization.serials[authorization.serials.length - 1]}; ticket verified` },
          ...failed.map((r): LogInput => ({ at: r.at!, level: 'warn', message: `${r.serial} failed: ${r.errorCode}` })),
          { at: new Date().toISOString(), level: 'info', message: `programmed ${results.length} unit(s): ${results.length - failed.length} ok, ${failed.length} failed` },
        ];
        try {
          for (let i = 0; i < lines.length; i += contract.MAX_LOG_LINES_PER_REQUEST) {
            await programmer.client.call(contract.appendLogs, {
              body: { jobId: job.jobId, authorizationId: authorization.authorizationId, lines: lines.slice(i, i + contract.MAX_LOG_LINES_PER_REQUEST) },
            });
          }
        } catch (error) {
          if (!isRefusal(error)) return fail(`${programmer.label} logs`, error);
          // Results are in; a job deleted meanwhile refuses its logs. Note it and stop like any refusal.
          refuse(error.code);
          return stop(error.code);
        }
      }
    }
  }

  function finish(): SimulationSummary {
    const durationMs = performance.now() - started;
    const seconds = durationMs / 1000;
    if (options.signal?.aborted) stop('interrupted');
    summary.stopReason = stopReason ?? 'units_done';
    summary.ok = summary.errors.length === 0 && (summary.stopReason === 'units_done' || summary.stopReason === 'job_completed');
    summary.durationMs = Math.round(durationMs);
    summary.requests = latency.total;
    const rate = (count: number) => (seconds > 0 ? Math.round((10 * count) / seconds) / 10 : 0);
    summary.requestsPerSecond = rate(summary.requests);
    summary.authorizationsPerSecond = rate(summary.authorizations);
    summary.unitsPerSecond = rate(summary.units);
    summary.latency = latency.summary();
    return summary;
  }
}
