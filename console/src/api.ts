import type {
  ErrorBodyType,
  ResponseOf,
  deleteJob,
  getAccount,
  getFactory,
  getJob,
  listAudit,
  listFactories,
  listJobLogs,
  listJobResults,
  listJobs,
  listProgrammers,
  pauseJob,
  restartJob,
  resumeJob,
} from '../../shared/contract/index.js';

// Types only: the console must stay a small bundle, so zod (the runtime schemas) never ships to the browser.
export type Account = ResponseOf<typeof getAccount>['account'];
export type Factory = ResponseOf<typeof getFactory>['factory'];
export type Job = ResponseOf<typeof getJob>['job'];
export type JobStatus = Job['status'];
export type Programmer = ResponseOf<typeof listProgrammers>['items'][number];
export type ResultRecord = ResponseOf<typeof listJobResults>['items'][number];
export type LogLine = ResponseOf<typeof listJobLogs>['items'][number];
export type AuditRecord = ResponseOf<typeof listAudit>['items'][number];
export type JobAction = 'pause' | 'resume' | 'restart' | 'delete';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The API's error body as an exception; `code` is the contract's stable machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | undefined>;

/** Thin fetch wrapper: one place that adds the token, reads the error body and spots an expired session. */
export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly onUnauthenticated: (error: ApiError) => void = () => undefined,
  ) {}

  async request<T>(method: 'GET' | 'POST' | 'DELETE', route: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(route, this.baseUrl);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    } catch {
      // fetch hides the reason (CORS refusal, DNS, offline) from scripts on purpose; say where we tried.
      throw new ApiError(0, 'network_error', `Could not reach the API at ${new URL(this.baseUrl).origin} (offline, or the API does not allow this origin).`);
    }
    const text = await response.text();
    const body = parseJson(text);
    if (!response.ok) {
      const error = toApiError(response.status, body, text);
      if (response.status === 401) this.onUnauthenticated(error);
      throw error;
    }
    return body as T;
  }

  get<T>(route: string, query?: Query): Promise<T> {
    return this.request<T>('GET', route, { query });
  }

  /** Follows `nextCursor` so screens can show whole (small) collections: factories, programmers, jobs. */
  async getAll<T>(route: string, query: Query = {}, maxPages = 20): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const result = await this.get<Page<T>>(route, { limit: 100, ...query, cursor });
      items.push(...result.items);
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    return items;
  }

  account() {
    return this.get<ResponseOf<typeof getAccount>>('v1/account');
  }
  factories() {
    return this.getAll<ResponseOf<typeof listFactories>['items'][number]>('v1/factories');
  }
  factory(factoryId: string) {
    return this.get<ResponseOf<typeof getFactory>>(`v1/factories/${encodeURIComponent(factoryId)}`);
  }
  jobs(query: { factoryId?: string; status?: JobStatus }) {
    return this.getAll<ResponseOf<typeof listJobs>['items'][number]>('v1/jobs', query);
  }
  job(jobId: string) {
    return this.get<ResponseOf<typeof getJob>>(`v1/jobs/${encodeURIComponent(jobId)}`);
  }
  jobResults(jobId: string, query: { since?: string; cursor?: string; limit?: number }) {
    return this.get<ResponseOf<typeof listJobResults>>(`v1/jobs/${encodeURIComponent(jobId)}/results`, { limit: 100, ...query });
  }
  jobLogs(jobId: string, query: { since?: string; cursor?: string; limit?: number }) {
    return this.get<ResponseOf<typeof listJobLogs>>(`v1/jobs/${encodeURIComponent(jobId)}/logs`, { limit: 100, ...query });
  }
  programmers() {
    return this.getAll<Programmer>('v1/programmers');
  }
  audit(query: { cursor?: string }) {
    return this.get<ResponseOf<typeof listAudit>>('v1/audit', { limit: 50, ...query });
  }
  jobAction(jobId: string, action: JobAction): Promise<{ job: Job }> {
    const path = `v1/jobs/${encodeURIComponent(jobId)}`;
    if (action === 'delete') return this.request<ResponseOf<typeof deleteJob>>('DELETE', path);
    return this.request<ResponseOf<typeof pauseJob | typeof resumeJob | typeof restartJob>>('POST', `${path}/${action}`, { body: {} });
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toApiError(status: number, body: unknown, text: string): ApiError {
  const error = (body as Partial<ErrorBodyType> | undefined)?.error;
  if (error && typeof error.code === 'string') return new ApiError(status, error.code, error.message, error.details);
  // API Gateway's own answers (no token, throttling) are `{ "message": "..." }`.
  const message = typeof (body as { message?: unknown })?.message === 'string' ? (body as { message: string }).message : text.slice(0, 200);
  const code = status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : status === 429 ? 'throttled' : `http_${status}`;
  return new ApiError(status, code, message || `HTTP ${status}`);
}
