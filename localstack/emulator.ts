/**
 * Which local AWS emulator answers, and what follows from it. The stack and the functions see
 * only AWS_ENDPOINT_URL; the harness alone needs to know the emulator, for three things that
 * differ between MiniStack and LocalStack: where an API Gateway API is served, which of
 * MiniStack's defects need working around after a deploy, and whether the harness may start an
 * emulator itself (only MiniStack, only when the caller did not point at one).
 */

export type EmulatorKind = 'ministack' | 'localstack';

/**
 * The API id the local stack asks emulators for (MiniStack's `ms-custom-id` tag, LocalStack's
 * `_custom_id_`), so its URL survives redeploys and a browser's CORS origin list stays valid.
 */
export const LOCAL_API_ID = 'flashline';

export interface Emulator {
  kind: EmulatorKind;
  /** The emulator's AWS endpoint, as AWS_ENDPOINT_URL names it (no trailing slash). */
  endpoint: string;
  version?: string;
  /** LocalStack's plan as its health page names it (`community`, `pro`, …); MiniStack's `light`/`full`. */
  edition?: string;
}

const EMULATOR_KINDS: readonly EmulatorKind[] = ['ministack', 'localstack'];

/**
 * `FLASHLINE_EMULATOR=ministack|localstack` overrides detection: for an emulator behind a
 * proxy that hides its health pages, or to run the LocalStack path against anything else.
 */
export function forcedEmulatorKind(env: Record<string, string | undefined>): EmulatorKind | undefined {
  const value = env.FLASHLINE_EMULATOR?.trim().toLowerCase();
  if (!value) return undefined;
  if ((EMULATOR_KINDS as readonly string[]).includes(value)) return value as EmulatorKind;
  throw new Error(`FLASHLINE_EMULATOR=${env.FLASHLINE_EMULATOR} is not one of ${EMULATOR_KINDS.join(', ')}`);
}

export function trimEndpoint(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}

type Fetch = (url: string, init?: { signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

async function health(fetchImpl: Fetch, url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetchImpl(url, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return undefined;
    const body = await response.json();
    return body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
}

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  return typeof body[key] === 'string' ? (body[key] as string) : undefined;
}

/**
 * Asks the endpoint what it is. MiniStack answers `/_ministack/health` (and LocalStack's
 * `/_localstack/health` too, which is why it is asked first); LocalStack answers only its own.
 * Undefined when nothing answers either: no emulator there (or real AWS).
 */
export async function detectEmulator(endpoint: string, fetchImpl: Fetch = fetch): Promise<Emulator | undefined> {
  const base = trimEndpoint(endpoint);
  const ministack = await health(fetchImpl, `${base}/_ministack/health`);
  if (ministack) return { kind: 'ministack', endpoint: base, version: stringField(ministack, 'version'), edition: stringField(ministack, 'edition') };
  const localstack = await health(fetchImpl, `${base}/_localstack/health`);
  if (localstack) return { kind: 'localstack', endpoint: base, version: stringField(localstack, 'version'), edition: stringField(localstack, 'edition') };
  return undefined;
}

/**
 * Where the emulator serves an API: an HTTP API's `$default` stage (no stage segment), or a
 * REST API's `stage`. MiniStack: under its `/_aws/execute-api/{apiId}/` path. LocalStack: the
 * host-based form its documentation recommends, `{apiId}.execute-api.localhost.localstack.cloud:{port}`
 * (a public DNS name for 127.0.0.1).
 */
export function executeApiUrl(emulator: Pick<Emulator, 'kind' | 'endpoint'>, apiId: string, stage?: string): string {
  const base = trimEndpoint(emulator.endpoint);
  // A REST API's stage is a path segment; the HTTP API's `$default` has none.
  const stagePath = stage ? `${stage}/` : '';
  if (emulator.kind === 'ministack') return `${base}/_aws/execute-api/${apiId}/${stagePath}`;
  const url = new URL(base);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.protocol}//${apiId}.execute-api.localhost.localstack.cloud:${port}/${stagePath}`;
}

export interface EmulatorWorkarounds {
  /**
   * MiniStack 1.5.33 stores an HTTP API's CORS settings from CloudFormation with capitalised
   * keys and reads camelCase ones: the harness sends them again through UpdateApi.
   */
  reapplyHttpApiCors: boolean;
  /** Only a MiniStack the harness starts itself: its CommonJS Lambda workers need a `package.json` marker. */
  canStartLocally: boolean;
}

export function workaroundsFor(kind: EmulatorKind): EmulatorWorkarounds {
  return kind === 'ministack' ? { reapplyHttpApiCors: true, canStartLocally: true } : { reapplyHttpApiCors: false, canStartLocally: false };
}

/**
 * The emulator the harness uses: the one AWS_ENDPOINT_URL names when the caller set it (never
 * replaced by one the harness starts), else MiniStack on FLASHLINE_EMULATOR_PORT (default 4566).
 */
export function emulatorEndpointFrom(env: Record<string, string | undefined>): { endpoint: string; chosenByCaller: boolean } {
  if (env.AWS_ENDPOINT_URL) return { endpoint: trimEndpoint(env.AWS_ENDPOINT_URL), chosenByCaller: true };
  return { endpoint: `http://127.0.0.1:${env.FLASHLINE_EMULATOR_PORT ?? '4566'}`, chosenByCaller: false };
}
