/**
 * Every DynamoDB key format of Flashline, in one place. Entities of an account all live under
 * the account's partition (`ACCT#…`), so a query can never wander into another tenant.
 *
 * Entity table (`pk`, `sk`; GSI `gsi1` on `gsi1pk`/`gsi1sk`, all attributes; GSI `gsi2` on
 * `gsi2pk`/`gsi2sk`, keys only):
 *   account            ACCT#{acct}            ACCOUNT
 *   factory            ACCT#{acct}            FAC#{fac}
 *   factory name lock  ACCT#{acct}            FACNAME#{normalized name}
 *   api key            ACCT#{acct}            KEY#{key}
 *   programmer         ACCT#{acct}            PRG#{prg}     gsi1: ACCT#{acct}#FAC#{fac} / PRG#{prg}
 *     groupIds: the programmer groups it belongs to (absent: none), read with it by every device call
 *   programmer group   ACCT#{acct}            GRP#{grp}     gsi1: ACCT#{acct}#FAC#{fac} / GRP#{grp}
 *     (`deleting` while a delete checks that no programmer or job uses it: joins and targets condition on its absence)
 *   group name lock    ACCT#{acct}            GRPNAME#{fac}#{normalized name}
 *   image              ACCT#{acct}            IMG#{img}
 *   job                ACCT#{acct}            JOB#{job}     gsi2: ACCT#{acct}#FAC#{fac} / JOB#{job}
 *     (sparse: the gsi2 keys are removed by the write that deletes the job; programmers never read deleted jobs)
 *     its reservation ledger: one attribute @{epoch seconds, base 36}.{units, base 36}.{authorization
 *     id bits, base64url} per reservation whose authorization is not yet recorded, holding its
 *     first serial index (items written before may carry rsv_{seconds}_{units}_{authorization id});
 *     runStartIndex: the serial index the current run started at
 *     unitFields: the sources its units' data comes from, with what renders their values
 *     targetGroups: the programmer groups it is for, comma-joined (absent: every programmer of its factory);
 *     imageVersion: counts replaces (absent: 1, never replaced)
 *   serial pool        ACCT#{acct}            POOL#{pool}   (format, start, step, capacity; `issued` moved by one atomic ADD per authorization)
 *   mac block          ACCT#{acct}            MACB#{block}  (first address, count; `issued` as a pool's)
 *   certificate auth.  ACCT#{acct}            CA#{ca}       (name, subject, KMS key id, self-signed certificate)
 *   device certificate ACCT#{acct}#AUTH#{id}  CERT#{serial} (a unit's certificate; written once, a retry reads it back)
 *   uid claim          ACCT#{acct}#UID#{uid}  JOB#{job} | ACCOUNT   (by the job's uidPolicy scope: claimed at authorization, programmed at a successful result)
 *   mac registry       ACCT#{acct}            MACREGISTRY   (every block's range, sorted, under a version: blocks never overlap)
 *   data list          ACCT#{acct}            LIST#{list}   (columns, status, total rows, `issued` as a pool's; never a row value)
 *   its row chunks     ACCT#{acct}#LIST#{list}#ROWS#{upload}  {chunk:08}   (ROWS_PER_CHUNK rows by index; secret columns sealed)
 *   account data key   ACCT#{acct}            DATAKEY       (the account's AES-256 key, encrypted by the deployment's data key)
 *   unit index         ACCT#{acct}#SRC#{source}#UNITS  {first index:016}#{authorization}   (one per authorization and run of a serial pool or MAC block: who got indexes first…first+count−1;
 *                      a returned value handed out again gets its own item beside the first one)
 *   returned values    ACCT#{acct}#SRC#{source}#RETURNS  {authorization}#{field}#{first unit}   (a failed unit's values, onFailure return; deleted by whoever claims them)
 *   webhook            ACCT#{acct}            WEBHOOK#{hook} (url, events, the secret encrypted with the data key)
 *   person             ACCT#{acct}            PERSON#{person}   (email, role, factoryIds, status, the identity provider's `sub`)
 *   person sign-in     PERSONSUB#{sub}        PERSON        (accountId, personId: how the authorizer finds the person an access token names;
 *                      written and deleted with the person item, in one transaction)
 *   presence watch     factory item's gsi1:   PRESENCE / {acct}#{fac}   (sparse: only factories with `programmerOfflineMinutes`; the presence check's one query)
 *     a programmer item's offlineSince: the lastSeenAt it was found silent at (once per silence: programmer.offline)
 *   session key crt    SESSIONKEY#{kid}       CERTIFICATE   (the `crt` of tickets a container signed; public)
 *   rate-limit bucket  ACCT#{acct}#RATE#DEVICE | #RATE#MANAGEMENT | #RATE#PRG#{prg}   BUCKET
 *     (GCRA arrival time `arrivalMs`; the platform operator's `limitRatePerSecond`/`limitBurst`
 *     for the account's own buckets; each bucket its own partition, so a flood heats no neighbour)
 *   authorization      ACCT#{acct}#AUTH#{id}  AUTH          (id derived from programmer + nonce; written once, then only released)
 *   its reported units ACCT#{acct}#AUTH#{id}  REPORTED      (a bit per granted unit; moved by every report, frozen by the release)
 * Events table (`pk`, `sk`, GSI `gsi1`, TTL on `expiresAt`):
 *   audit record       ACCT#{acct}#AUDIT      {iso time}#{id}
 *   result batch       ACCT#{acct}#JOB#{job}#RESULTS  {received at}#{writer}#{counter}   (one report's new results, compressed)
 *   log line           ACCT#{acct}#JOB#{job}#LOG#{shard}  {received at}#{writer}#{counter}   (shard 0…LOG_SHARDS−1, by chunk: logs.ts)
 *   legacy log line    ACCT#{acct}#JOB#{job}#LOG     (lines stored before the shards; still read, and the feed's name for its cursors)
 *   log request chunk  ACCT#{acct}#JOB#{job}#LOGREQ  {hash of request + chunk}   (retry marker)
 *   webhook delivery   ACCT#{acct}#WEBHOOK#{hook}#DELIVERIES  {event time}#{message id}   (the event, its attempts; message id from the change that made it)
 * Change stream of the entity table (events.ts): job, image, programmer and authorization items
 * are the event sources (EVENT_SOURCES below); the relay's stream filter lets only them through.
 * The audit, result-batch and log sort keys start with the server's arrival time (fixed-width
 * ISO-8601 UTC, then `#`): feeds read them in arrival order and their cursors are positions in
 * that order (store/feed.ts). Log lines written before arrival order began were keyed
 * `{device at}#{line hash}`.
 * S3 (images bucket):
 *   encrypted image    accounts/{acct}/images/{img}
 *   data list upload   accounts/{acct}/data-lists/{list}/{upload}   (read once by the upload processor, then deleted)
 */
export interface Key {
  pk: string;
  sk: string;
}

export const SK_PREFIX = {
  factory: 'FAC#',
  factoryName: 'FACNAME#',
  apiKey: 'KEY#',
  programmer: 'PRG#',
  image: 'IMG#',
  job: 'JOB#',
  serialPool: 'POOL#',
  macBlock: 'MACB#',
  certificateAuthority: 'CA#',
  dataList: 'LIST#',
  webhook: 'WEBHOOK#',
  person: 'PERSON#',
} as const;

/** The entity items whose changes become events: the sort key says which kind (the authorization's is exact). */
export const EVENT_SOURCES = { job: { skPrefix: SK_PREFIX.job }, image: { skPrefix: SK_PREFIX.image }, programmer: { skPrefix: SK_PREFIX.programmer }, authorization: { sk: 'AUTH' } } as const;

const PRESENCE_INDEX_PK = 'PRESENCE';

const RESERVATION_PREFIX = 'rsv_';
/**
 * The job item carries one ledger attribute per reservation not yet recorded (about one per busy
 * container), and a write costs a write unit per KB of the item: names are kept short so that 16
 * busy containers' entries (36 bytes each instead of 59) leave the job item near 1 KB.
 * `@{epoch seconds, base 36}.{units, base 36}.{the authorization id's 128 bits, base64url}`.
 */
const COMPACT_RESERVATION_PREFIX = '@';
const COMPACT_RESERVATION = /^@([0-9a-z]{1,10})\.([0-9a-z]{1,4})\.([A-Za-z0-9_-]{22})$/;
const CANONICAL_AUTHORIZATION_ID = /^auth_([0-9a-f]{32})$/;

const accountPk = (accountId: string) => `ACCT#${accountId}`;

export const keys = {
  account: (accountId: string): Key => ({ pk: accountPk(accountId), sk: 'ACCOUNT' }),
  factory: (accountId: string, factoryId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.factory}${factoryId}` }),
  factoryName: (accountId: string, name: string): Key => ({
    pk: accountPk(accountId),
    sk: `${SK_PREFIX.factoryName}${name.trim().toLowerCase()}`,
  }),
  apiKey: (accountId: string, keyId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.apiKey}${keyId}` }),
  programmer: (accountId: string, programmerId: string): Key => ({
    pk: accountPk(accountId),
    sk: `${SK_PREFIX.programmer}${programmerId}`,
  }),
  accountPartition: accountPk,
  factoryIndex: (accountId: string, factoryId: string) => `ACCT#${accountId}#FAC#${factoryId}`,
  programmerIndexSk: (programmerId: string) => `${SK_PREFIX.programmer}${programmerId}`,
  auditPartition: (accountId: string) => `ACCT#${accountId}#AUDIT`,
  audit: (accountId: string, at: string, auditId: string): Key => ({ pk: `ACCT#${accountId}#AUDIT`, sk: `${at}#${auditId}` }),
  image: (accountId: string, imageId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.image}${imageId}` }),
  job: (accountId: string, jobId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.job}${jobId}` }),
  jobIndexSk: (jobId: string) => `${SK_PREFIX.job}${jobId}`,
  serialPool: (accountId: string, poolId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.serialPool}${poolId}` }),
  macBlock: (accountId: string, blockId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.macBlock}${blockId}` }),
  certificateAuthority: (accountId: string, caId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.certificateAuthority}${caId}` }),
  /** Beside its authorization: (authorization, serial) names at most one certificate. */
  deviceCertificate: (accountId: string, authorizationId: string, serial: string): Key => ({ pk: `ACCT#${accountId}#AUTH#${authorizationId}`, sk: `CERT#${serial}` }),
  /** One partition per chip UID; the sort key is the scope it must be unique in (the job, or the whole account). */
  uidClaimPartition: (accountId: string, uid: string) => `ACCT#${accountId}#UID#${uid}`,
  uidClaim: (accountId: string, uid: string, scope: { jobId: string } | 'account'): Key => ({
    pk: keys.uidClaimPartition(accountId, uid),
    sk: scope === 'account' ? 'ACCOUNT' : `JOB#${scope.jobId}`,
  }),
  macRegistry: (accountId: string): Key => ({ pk: accountPk(accountId), sk: 'MACREGISTRY' }),
  dataList: (accountId: string, dataListId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.dataList}${dataListId}` }),
  dataListChunk: (accountId: string, dataListId: string, uploadId: string, chunk: number): Key => ({
    pk: `ACCT#${accountId}#LIST#${dataListId}#ROWS#${uploadId}`,
    sk: String(chunk).padStart(8, '0'),
  }),
  person: (accountId: string, personId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.person}${personId}` }),
  /** Keyed by the user pool's `sub` alone: a token names no account, so this item says which one. */
  personSignIn: (subject: string): Key => ({ pk: `PERSONSUB#${subject}`, sk: 'PERSON' }),
  accountDataKey: (accountId: string): Key => ({ pk: accountPk(accountId), sk: 'DATAKEY' }),
  unitIndexPartition: (accountId: string, sourceId: string) => `ACCT#${accountId}#SRC#${sourceId}#UNITS`,
  /** Fixed-width index first, so sort order is index order and the items at or below an index are one Query. */
  unitIndex: (accountId: string, sourceId: string, firstIndex: number, authorizationId: string): Key => ({
    pk: `ACCT#${accountId}#SRC#${sourceId}#UNITS`,
    sk: `${keys.unitIndexPosition(firstIndex)}#${authorizationId}`,
  }),
  unitIndexPosition: (index: number) => String(index).padStart(16, '0'),
  returnedValuesPartition: (accountId: string, sourceId: string) => `ACCT#${accountId}#SRC#${sourceId}#RETURNS`,
  /**
   * IAM `dynamodb:LeadingKeys` patterns of the partitions whose items the device function
   * deletes (it claims returned values by deleting them, and frees chip UID claims) and queries
   * (returned values): nothing else may it delete or query outside the indexes.
   */
  deviceDeletablePartitions: ['ACCT#*#SRC#*#RETURNS', 'ACCT#*#UID#*'] as const,
  /** Unique per return: a unit is reported once, so no two returns share their authorization, field and first unit. */
  returnedValues: (accountId: string, sourceId: string, authorizationId: string, field: number, tag: string): Key => ({
    pk: `ACCT#${accountId}#SRC#${sourceId}#RETURNS`,
    sk: `${authorizationId}#${field}#${tag}`,
  }),
  authorization: (accountId: string, authorizationId: string): Key => ({ pk: `ACCT#${accountId}#AUTH#${authorizationId}`, sk: 'AUTH' }),
  reportedUnits: (accountId: string, authorizationId: string): Key => ({ pk: `ACCT#${accountId}#AUTH#${authorizationId}`, sk: 'REPORTED' }),
  jobResultsPartition: (accountId: string, jobId: string) => `ACCT#${accountId}#JOB#${jobId}#RESULTS`,
  /** `sequence` comes from feed.ts's arrivalKey: `{received at}#{writer}#{counter}`. */
  resultBatch: (accountId: string, jobId: string, sequence: string): Key => ({ pk: `ACCT#${accountId}#JOB#${jobId}#RESULTS`, sk: sequence }),
  /** Where log lines were kept before they were sharded; the log's list identity for its cursors. */
  jobLogsPartition: (accountId: string, jobId: string) => `ACCT#${accountId}#JOB#${jobId}#LOG`,
  jobLogsShard: (accountId: string, jobId: string, shard: number) => `ACCT#${accountId}#JOB#${jobId}#LOG#${shard}`,
  /** `sequence` comes from feed.ts's arrivalKey: `{received at}#{writer}#{counter}`. */
  logLine: (accountId: string, jobId: string, shard: number, sequence: string): Key => ({ pk: `ACCT#${accountId}#JOB#${jobId}#LOG#${shard}`, sk: sequence }),
  logRequest: (accountId: string, jobId: string, chunkHash: string): Key => ({ pk: `ACCT#${accountId}#JOB#${jobId}#LOGREQ`, sk: chunkHash }),
  /**
   * The job-item attribute that records one reservation until its authorization is recorded (see
   * authorizations.ts): when (epoch seconds), how many units and for which authorization; its
   * value is the first serial index.
   */
  reservationAttribute: (reservedAtSeconds: number, units: number, authorizationId: string) => {
    const canonical = CANONICAL_AUTHORIZATION_ID.exec(authorizationId);
    if (!canonical) return `${RESERVATION_PREFIX}${reservedAtSeconds}_${units}_${authorizationId}`;
    return `${COMPACT_RESERVATION_PREFIX}${reservedAtSeconds.toString(36)}.${units.toString(36)}.${Buffer.from(canonical[1] as string, 'hex').toString('base64url')}`;
  },
  /** Both forms: compact names (written since 2026-11-27) and the long ones of job items written before. */
  parseReservationAttribute: (name: string): { reservedAtSeconds: number; units: number; authorizationId: string } | undefined => {
    const compact = COMPACT_RESERVATION.exec(name);
    if (compact) {
      return { reservedAtSeconds: parseInt(compact[1] as string, 36), units: parseInt(compact[2] as string, 36), authorizationId: `auth_${Buffer.from(compact[3] as string, 'base64url').toString('hex')}` };
    }
    const match = /^rsv_(\d+)_(\d+)_(auth_[0-9a-f]+)$/.exec(name);
    return match ? { reservedAtSeconds: Number(match[1]), units: Number(match[2]), authorizationId: match[3] as string } : undefined;
  },
  rateBucket: (accountId: string, bucket: { scope: 'deviceAccount' | 'managementAccount' } | { scope: 'programmer'; programmerId: string }): Key => ({
    pk: `ACCT#${accountId}#RATE#${bucket.scope === 'programmer' ? `PRG#${bucket.programmerId}` : bucket.scope === 'deviceAccount' ? 'DEVICE' : 'MANAGEMENT'}`,
    sk: 'BUCKET',
  }),
  webhook: (accountId: string, webhookId: string): Key => ({ pk: accountPk(accountId), sk: `${SK_PREFIX.webhook}${webhookId}` }),
  webhookDeliveriesPartition: (accountId: string, webhookId: string) => `ACCT#${accountId}#WEBHOOK#${webhookId}#DELIVERIES`,
  webhookDelivery: (accountId: string, webhookId: string, eventAt: string, messageId: string): Key => ({ pk: `ACCT#${accountId}#WEBHOOK#${webhookId}#DELIVERIES`, sk: `${eventAt}#${messageId}` }),
  /** The presence check's index entry of a factory that watches for silent programmers (gsi1 of the factory item). */
  presenceIndex: (accountId: string, factoryId: string) => ({ gsi1pk: PRESENCE_INDEX_PK, gsi1sk: `${accountId}#${factoryId}` }),
  presenceIndexPk: PRESENCE_INDEX_PK,
  parsePresenceIndexSk: (gsi1sk: string): { accountId: string; factoryId: string } => {
    const [accountId = '', factoryId = ''] = gsi1sk.split('#');
    return { accountId, factoryId };
  },
  /** Which event source an entity item is (EVENT_SOURCES), and its account; undefined for any other item. */
  eventSourceOf: (key: { pk: string; sk: string }): { kind: keyof typeof EVENT_SOURCES; accountId: string } | undefined => {
    const accountId = /^ACCT#([^#]+)/.exec(key.pk)?.[1];
    if (!accountId) return undefined;
    if (key.sk === EVENT_SOURCES.authorization.sk) return { kind: 'authorization', accountId };
    for (const kind of ['job', 'image', 'programmer'] as const) if (key.sk.startsWith(EVENT_SOURCES[kind].skPrefix)) return { kind, accountId };
    return undefined;
  },
  /** A session key's certificate (public, no account's data): written once per key, read to give a stored ticket back whole. */
  sessionKeyCertificate: (kid: string): Key => ({ pk: `SESSIONKEY#${kid}`, sk: 'CERTIFICATE' }),
  imageObject: (accountId: string, imageId: string) => `accounts/${accountId}/images/${imageId}`,
  dataListObject: (accountId: string, dataListId: string, uploadId: string) => `accounts/${accountId}/data-lists/${dataListId}/${uploadId}`,
  /** Outside `accounts/`, so the upload verifier is never told of it; expired by the bucket's lifecycle after a day. */
  manifestObject: (accountId: string, jobId: string, sha256Hex: string) => `manifests/${accountId}/${jobId}/${sha256Hex}.jsonl`,
  parseDataListObject: (objectKey: string): { accountId: string; dataListId: string; uploadId: string } | undefined => {
    const match = /^accounts\/([A-Za-z0-9_-]+)\/data-lists\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)$/.exec(objectKey);
    return match ? { accountId: match[1] as string, dataListId: match[2] as string, uploadId: match[3] as string } : undefined;
  },
  parseImageObject: (objectKey: string): { accountId: string; imageId: string } | undefined => {
    const match = /^accounts\/([A-Za-z0-9_-]+)\/images\/([A-Za-z0-9_-]+)$/.exec(objectKey);
    return match ? { accountId: match[1] as string, imageId: match[2] as string } : undefined;
  },
};

/**
 * Programmer groups' keys, apart from `keys` so the device bundle (which reads a programmer's
 * `groupIds` and a job's `targetGroups`, never a group item) leaves them out: its size is budgeted.
 */
export const groupKeys = {
  prefix: 'GRP#',
  group: (accountId: string, groupId: string): Key => ({ pk: accountPk(accountId), sk: `GRP#${groupId}` }),
  /** Names are unique per factory, whatever their case. */
  groupName: (accountId: string, factoryId: string, name: string): Key => ({ pk: accountPk(accountId), sk: `GRPNAME#${factoryId}#${name.trim().toLowerCase()}` }),
};
