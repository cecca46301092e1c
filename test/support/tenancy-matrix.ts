import { type AccountRole, FACTORY_PARAMS, ROLE_RANK, type RouteContract } from '../../shared/contract/route.js';

/**
 * The tenancy matrix: every route of the contract × every caller that must be refused. The
 * route list comes from the contract, so a new route is in the matrix the moment it exists; what
 * cannot be derived (which of account A's ids fills a path parameter, a valid body) lives in
 * ROUTE_FIXTURES, and `matrixProblems` (a unit test) fails for a route that has none.
 * Pure data and functions: the unit test and the e2e test share it.
 */

/** Who calls. "A" is the account under attack; "B" is another account. */
export const CALLERS = ['otherAdmin', 'otherProgrammer', 'revokedKey', 'disabledProgrammer', 'malformedToken', 'noToken'] as const;
export type Caller = (typeof CALLERS)[number];

/** The ids of account A the requests aim at (the e2e test creates them once). */
export interface TenantIds {
  accountId: string;
  defaultFactoryId: string;
  factoryId: string;
  keyId: string;
  programmerId: string;
  imageId: string;
  jobId: string;
  /** A cloud-delivery image still pending upload: the only kind an upload URL is made for. */
  cloudImageId: string;
  /** Held by A's active programmer. */
  authorizationId: string;
  /** Held by A's disabled programmer itself, so its refusal is about being disabled, not about ownership. */
  disabledAuthorizationId: string;
  serialPoolId: string;
  macBlockId: string;
  certificateAuthorityId: string;
  dataListId: string;
  webhookId: string;
  personId: string;
  /** A programmer group in A's factory. */
  groupId: string;
}

/** What one request sends beyond its path; `own` marks a request that names nothing of A (lists, creates). */
export interface Variant {
  label?: string;
  query?: (a: TenantIds) => Record<string, string>;
  body?: (a: TenantIds, caller: Caller) => unknown;
  params?: Partial<Record<string, keyof TenantIds>>;
  own?: boolean;
}

/** The answer the contract documents (api.md Conventions and Programmer side). */
export type Outcome =
  | { kind: 'refused'; status: 401 | 403 | 404 | 409; code: string }
  /** A success that shows the caller only its own data (the test checks that nothing of A leaks). */
  | { kind: 'own' }
  /** Public routes (JWKS, OpenAPI) answer everyone. */
  | { kind: 'public' };

/** Path parameters by name; a route with a parameter not listed here (nor in its fixture) is a matrix problem. */
const PARAM_IDS: Record<string, keyof TenantIds> = {
  keyId: 'keyId',
  factoryId: 'factoryId',
  programmerId: 'programmerId',
  imageId: 'imageId',
  jobId: 'jobId',
  authorizationId: 'authorizationId',
  serialPoolId: 'serialPoolId',
  macBlockId: 'macBlockId',
  certificateAuthorityId: 'certificateAuthorityId',
  dataListId: 'dataListId',
  webhookId: 'webhookId',
  personId: 'personId',
  groupId: 'groupId',
};

const directImage = (factoryId: string) => ({ name: 'Tenancy probe', factoryId, contentSha256: 'c'.repeat(64), sizeBytes: 1024, delivery: 'direct' });
/** The disabled programmer works on its own authorization; everybody else aims at A's programmer's. */
const authorizationFor = (a: TenantIds, caller: Caller) => (caller === 'disabledProgrammer' ? a.disabledAuthorizationId : a.authorizationId);
let nonceCounter = 0;

/**
 * One entry per non-public route, keyed by operationId. Routes without parameters or body still
 * get an entry: whether a request can aim at A (`own` or not) is a decision, not a default.
 */
export const ROUTE_FIXTURES: Record<string, Variant[]> = {
  getAccount: [{ own: true }],
  createApiKey: [{ body: () => ({ name: 'probe', role: 'viewer' }), own: true }],
  listApiKeys: [{ own: true }],
  revokeApiKey: [{}],
  listFactories: [{ own: true }],
  createFactory: [{ body: () => ({ name: `Probe ${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` }), own: true }],
  getFactory: [{}],
  renameFactory: [{ body: () => ({ name: 'Hijacked' }) }],
  deleteFactory: [{}],
  createGroup: [{ body: () => ({ name: `Probe group ${Math.random().toString(36).slice(2, 8)}` }) }],
  listGroups: [{}],
  deleteGroup: [{}],
  provisionProgrammer: [
    { label: "into A's factory", body: (a) => ({ name: 'intruder', hardwareSerial: `probe-${Math.random()}`, factoryId: a.factoryId }) },
    { label: "into A's default factory", body: (a) => ({ name: 'intruder', hardwareSerial: `probe-${Math.random()}`, factoryId: a.defaultFactoryId }) },
  ],
  listProgrammers: [{ label: "A's factory", query: (a) => ({ factoryId: a.factoryId }) }, { own: true }],
  getProgrammer: [{}],
  updateProgrammer: [
    { label: 'disable', body: () => ({ status: 'disabled' }) },
    { label: 'rename and load keys', body: () => ({ name: 'Hijacked', encryptionKeyIds: ['stolen'] }) },
    { label: "into A's group", body: (a) => ({ groupIds: [a.groupId] }) },
  ],
  deprovisionProgrammer: [{}],
  registerImage: [{ body: (a) => directImage(a.factoryId) }],
  getImage: [{}],
  createUploadUrl: [{ params: { imageId: 'cloudImageId' } }],
  listJobs: [{ label: "A's factory", query: (a) => ({ factoryId: a.factoryId }) }, { own: true }],
  getJob: [{}],
  updateJob: [
    { label: 'limit', body: () => ({ restrictions: { maxCount: 5 } }) },
    { label: "fields from A's pool", body: (a) => ({ unitFields: [{ name: 'sn', source: { serialPool: a.serialPoolId } }] }) },
    { label: "targets A's group", body: (a) => ({ targetGroupIds: [a.groupId] }) },
  ],
  replaceJobImage: [{ body: () => ({ name: 'Hijacked image', contentSha256: 'd'.repeat(64), sizeBytes: 1024, delivery: 'direct' }) }],
  createSerialPool: [{ body: () => ({ name: 'probe', format: 'P{n:06}' }), own: true }],
  listSerialPools: [{ own: true }],
  getSerialPool: [{}],
  // A random first address: B's own blocks must not overlap each other across runs.
  createMacBlock: [{ body: () => ({ name: 'probe', first: `02:00:${Array.from({ length: 4 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join(':')}`, count: 1 }), own: true }],
  listMacBlocks: [{ own: true }],
  getMacBlock: [{}],
  createCertificateAuthority: [{ body: () => ({ name: 'probe', subject: 'CN=probe' }), own: true }],
  listCertificateAuthorities: [{ own: true }],
  getCertificateAuthority: [{}],
  // The authorization is looked up before the CSR is read: another's answers 404 whatever the CSR.
  issueDeviceCertificate: [{ body: (a) => ({ authorizationId: a.authorizationId, serial: 'SN-00000001', csr: 'not read before the authorization' }) }],
  createDataList: [{ body: () => ({ name: 'probe', columns: [{ name: 'a', secret: true }] }), own: true }],
  listDataLists: [{ own: true }],
  getDataList: [{}],
  uploadDataListRows: [{ body: () => ({ format: 'jsonl', content: '{"a":"intruder"}' }) }],
  createDataListUpload: [{ body: () => ({ format: 'csv', sha256: 'a'.repeat(64), sizeBytes: 10 }) }],
  // Values of A's sources answer B with B's own units only (none).
  lookupUnits: [{ query: () => ({ serial: 'P000000' }), own: true }],
  getJobManifest: [{}],
  pauseJob: [{}],
  resumeJob: [{}],
  restartJob: [{}],
  deleteJob: [{}],
  listJobResults: [{}],
  listJobLogs: [{}],
  listAudit: [{ own: true }],
  createWebhook: [{ body: () => ({ url: 'https://hooks.example.com/flashline', events: ['job.paused'] }), own: true }],
  listWebhooks: [{ own: true }],
  getWebhook: [{}],
  deleteWebhook: [{}],
  listWebhookDeliveries: [{}],
  testWebhook: [{}],
  // B's admin inviting someone makes B's own person (B's business); nothing of A is named.
  createPerson: [{ body: () => ({ email: `probe-${Math.random().toString(36).slice(2, 10)}@example.com`, role: 'viewer' }), own: true }],
  listPeople: [{ own: true }],
  updatePerson: [{ label: 'make admin', body: () => ({ role: 'admin' }) }, { label: 'disable', body: () => ({ status: 'disabled' }) }],
  deletePerson: [{}],
  listDeviceJobs: [{ own: true }],
  createDownloadUrl: [{}],
  authorizeProgramming: [{ body: (a) => ({ jobId: a.jobId, units: 1, nonce: `tenancy-probe-${Date.now()}-${(nonceCounter += 1)}` }) }],
  releaseAuthorization: [{}],
  reportResults: [{ body: (a, caller) => ({ authorizationId: authorizationFor(a, caller), results: [{ serial: 'SN-1', status: 'success' }] }) }],
  appendLogs: [{ body: (a) => ({ jobId: a.jobId, lines: [{ at: new Date().toISOString(), level: 'info', message: 'probe' }] }) }],
};

/** The documented answer for a caller on a route (api.md: 401 unauthenticated, 403 role, 404 across accounts). */
export function expectedOutcome(route: RouteContract, caller: Caller, variant: Variant): Outcome {
  if (route.access.kind === 'public') return { kind: 'public' };
  const device = route.access.kind === 'programmer';
  switch (caller) {
    case 'noToken':
    case 'malformedToken':
    case 'revokedKey':
      return { kind: 'refused', status: 401, code: 'unauthenticated' };
    case 'disabledProgrammer':
      // A disabled programmer still authenticates (its factory may re-enable it); device routes refuse it by name.
      return device ? { kind: 'refused', status: 409, code: 'programmer_disabled' } : { kind: 'refused', status: 403, code: 'forbidden' };
    case 'otherAdmin':
      if (device) return { kind: 'refused', status: 403, code: 'forbidden' };
      return variant.own ? { kind: 'own' } : { kind: 'refused', status: 404, code: 'not_found' };
    case 'otherProgrammer':
      if (!device) return { kind: 'refused', status: 403, code: 'forbidden' };
      return variant.own ? { kind: 'own' } : { kind: 'refused', status: 404, code: 'not_found' };
  }
}

export interface MatrixCase {
  route: RouteContract;
  caller: Caller;
  variant: Variant;
  /** Relative to the API's base URL, query included. */
  target: string;
  body?: unknown;
  expected: Outcome;
  name: string;
}

function pathFor(route: RouteContract, variant: Variant, a: TenantIds, caller: Caller): string {
  return route.path.slice(1).replace(/\{(\w+)\}/g, (_m, name: string) => {
    const source = variant.params?.[name] ?? PARAM_IDS[name];
    if (!source) throw new Error(`${route.operationId}: no fixture for path parameter {${name}}`);
    const id = source === 'authorizationId' ? authorizationFor(a, caller) : a[source];
    return encodeURIComponent(id);
  });
}

/** Every (route, caller, variant) request, built for A's ids; throws on a route the fixtures do not cover. */
export function buildMatrix(routes: readonly RouteContract[], a: TenantIds): MatrixCase[] {
  const cases: MatrixCase[] = [];
  for (const route of routes) {
    const variants = route.access.kind === 'public' ? [{}] : ROUTE_FIXTURES[route.operationId];
    if (!variants) throw new Error(`${route.operationId}: no entry in ROUTE_FIXTURES (test/support/tenancy-matrix.ts)`);
    if (route.body && variants.some((variant) => !variant.body)) throw new Error(`${route.operationId}: takes a body, a variant has none`);
    for (const variant of variants) {
      for (const caller of CALLERS) {
        const query = variant.query ? `?${new URLSearchParams(variant.query(a)).toString()}` : '';
        cases.push({
          route,
          caller,
          variant,
          target: `${pathFor(route, variant, a, caller)}${query}`,
          body: variant.body?.(a, caller),
          expected: expectedOutcome(route, caller, variant),
          name: `${caller} ${route.method} ${route.path}${variant.label ? ` (${variant.label})` : ''}`,
        });
      }
    }
  }
  return cases;
}

/** Ids shaped like the real ones, for checking the fixtures without a stack. */
export const SAMPLE_IDS: TenantIds = {
  accountId: 'acc_sample',
  defaultFactoryId: 'fac_default',
  factoryId: 'fac_sample',
  keyId: 'key_sample',
  programmerId: 'prg_sample',
  imageId: 'img_sample',
  jobId: 'job_sample',
  cloudImageId: 'img_cloud',
  authorizationId: 'aut_sample',
  disabledAuthorizationId: 'aut_disabled',
  serialPoolId: 'pool_sample',
  macBlockId: 'mac_sample',
  certificateAuthorityId: 'ca_sample',
  dataListId: 'list_sample',
  webhookId: 'wh_sample',
  personId: 'per_sample',
  groupId: 'grp_sample',
};

/** Why the matrix cannot cover these routes: missing entries, unfilled path parameters, bodies or queries the contract refuses. */
export function matrixProblems(routes: readonly RouteContract[]): string[] {
  const problems: string[] = [];
  for (const route of routes) {
    let cases: MatrixCase[];
    try {
      cases = buildMatrix([route], SAMPLE_IDS);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    // A body or query the schema refuses would be answered 400 before any tenancy check: it would prove nothing.
    for (const entry of cases) {
      if (route.body && !route.body.safeParse(entry.body).success) problems.push(`${entry.name}: its body does not match the contract`);
      const query = Object.fromEntries(new URLSearchParams(entry.target.split('?')[1] ?? ''));
      if (route.query && !route.query.safeParse(query).success) problems.push(`${entry.name}: its query does not match the contract`);
    }
  }
  return [...new Set(problems)];
}

/**
 * Per-factory scoping (api.md "People, roles per factory"): keys of account A itself, each
 * limited to another factory of A, at every role a scoped key can have (admin is account-wide).
 * The same route list and fixtures as above, so a new route is probed at once.
 */
export const SCOPED_CALLERS = ['viewerOfOtherFactory', 'operatorOfOtherFactory', 'authorOfOtherFactory'] as const;
export type ScopedCaller = (typeof SCOPED_CALLERS)[number];
export const SCOPED_ROLE: Record<ScopedCaller, Exclude<AccountRole, 'admin'>> = {
  viewerOfOtherFactory: 'viewer',
  operatorOfOtherFactory: 'operator',
  authorOfOtherFactory: 'author',
};

export type ScopedOutcome =
  | Extract<Outcome, { kind: 'refused' | 'own' | 'public' }>
  /** A success on what every factory of the account shares (a serial pool, a data list): nothing of A's factory in it. */
  | { kind: 'shared' };

/** Whether a request names something inside one factory: a path parameter of FACTORY_PARAMS, or a factoryId in its query or body. */
export function aimsAtFactory(route: RouteContract, variant: Variant, a: TenantIds): boolean {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  if (params.some((name) => (FACTORY_PARAMS as readonly string[]).includes(name))) return true;
  const body = variant.body?.(a, 'otherAdmin') as Record<string, unknown> | undefined;
  return variant.query?.(a).factoryId !== undefined || (typeof body === 'object' && body !== null && 'factoryId' in body);
}

/** The documented answer for a key of A limited to another factory: role first (403), then the factory (404, as across accounts). */
export function expectedScopedOutcome(route: RouteContract, role: Exclude<AccountRole, 'admin'>, variant: Variant, a: TenantIds): ScopedOutcome {
  const access = route.access;
  if (access.kind === 'public') return { kind: 'public' };
  if (access.kind === 'programmer') return { kind: 'refused', status: 403, code: 'forbidden' };
  if (ROLE_RANK[role] < ROLE_RANK[access.minimumRole] || access.accountWideWrite) return { kind: 'refused', status: 403, code: 'forbidden' };
  if (aimsAtFactory(route, variant, a)) return { kind: 'refused', status: 404, code: 'not_found' };
  return variant.own ? { kind: 'own' } : { kind: 'shared' };
}

export interface ScopedCase {
  route: RouteContract;
  caller: ScopedCaller;
  target: string;
  body?: unknown;
  expected: ScopedOutcome;
  name: string;
}

/** Every (route, variant, scoped caller) request against A's factory, built like buildMatrix's. */
export function buildScopeMatrix(routes: readonly RouteContract[], a: TenantIds): ScopedCase[] {
  const cases: ScopedCase[] = [];
  for (const route of routes) {
    if (route.access.kind === 'public') continue;
    const variants = ROUTE_FIXTURES[route.operationId];
    if (!variants) throw new Error(`${route.operationId}: no entry in ROUTE_FIXTURES (test/support/tenancy-matrix.ts)`);
    for (const variant of variants) {
      for (const caller of SCOPED_CALLERS) {
        const query = variant.query ? `?${new URLSearchParams(variant.query(a)).toString()}` : '';
        cases.push({
          route,
          caller,
          target: `${pathFor(route, variant, a, 'otherAdmin')}${query}`,
          body: variant.body?.(a, 'otherAdmin'),
          expected: expectedScopedOutcome(route, SCOPED_ROLE[caller], variant, a),
          name: `${caller} ${route.method} ${route.path}${variant.label ? ` (${variant.label})` : ''}`,
        });
      }
    }
  }
  return cases;
}
