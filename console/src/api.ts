import { FlashlineApiError, FlashlineClient } from '../../shared/contract/client.js';
import type {
  ResponseOf,
  getAccount,
  getFactory,
  getJob,
  listAudit,
  listJobLogs,
  listJobResults,
  listPeople,
  listProgrammers,
  listWebhookDeliveries,
  listWebhooks,
} from '../../shared/contract/index.js';

// The console calls the API through the one typed client of the contract, like the CLI and the simulator.
export { FlashlineApiError, FlashlineClient };

export type Account = ResponseOf<typeof getAccount>['account'];
export type Caller = ResponseOf<typeof getAccount>['caller'];
export type Person = ResponseOf<typeof listPeople>['items'][number];
export type Factory = ResponseOf<typeof getFactory>['factory'];
export type Job = ResponseOf<typeof getJob>['job'];
export type JobStatus = Job['status'];
export type Programmer = ResponseOf<typeof listProgrammers>['items'][number];
export type ResultRecord = ResponseOf<typeof listJobResults>['items'][number];
export type LogLine = ResponseOf<typeof listJobLogs>['items'][number];
export type AuditRecord = ResponseOf<typeof listAudit>['items'][number];
export type Webhook = ResponseOf<typeof listWebhooks>['items'][number];
export type WebhookDelivery = ResponseOf<typeof listWebhookDeliveries>['items'][number];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Screens poll again within seconds anyway: two retries ride out one throttled or dropped read
 * without an error flashing up, and a real outage still shows within a few seconds. The client
 * never retries job actions (they are not idempotent), whatever this says.
 */
const CONSOLE_RETRY = { retries: 2 };

export interface ApiClientOptions {
  /** Called when the API refuses the token (revoked key, removed account): the console signs out. */
  onUnauthenticated?: (error: FlashlineApiError) => void;
  /** For tests; the browser's fetch otherwise. */
  fetch?: typeof fetch;
}

export function createApiClient(apiUrl: string, token: string, options: ApiClientOptions = {}): FlashlineClient {
  const { onUnauthenticated } = options;
  return new FlashlineClient({
    baseUrl: apiUrl,
    token,
    retry: CONSOLE_RETRY,
    fetch: fetchNamingTheApi(apiUrl, options.fetch),
    onError: (error) => {
      if (error.status === 401) onUnauthenticated?.(error);
    },
  });
}

/**
 * Browsers hide why a request got no answer (CORS refusal, DNS, offline) from scripts on
 * purpose, and say only "Failed to fetch": name the API we tried and the likely reasons, so
 * the operator knows what to check. Timeouts and aborts pass unchanged: the client names them.
 */
export function fetchNamingTheApi(apiUrl: string, fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args)): typeof fetch {
  const origin = new URL(apiUrl).origin;
  return async (input, init) => {
    try {
      return await fetchImpl(input, init);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw new TypeError(`the API at ${origin} did not answer: offline, or it does not allow this origin`, { cause: error });
    }
  };
}
