import * as z from 'zod';
import { MAX_COLUMN_LENGTH } from '../domain/data-lists.js';
import { Id, ListQuery, Name, Timestamp, distinctBy, listOf } from './common.js';
import { Sha256Hex } from './entities.js';
import { UploadInstructions } from './images.js';
import { defineRoute } from './route.js';

/** Inline rows: what one request may carry (the body limit is this plus room for the JSON around it). */
export const MAX_INLINE_ROWS_BYTES = 1024 * 1024;
/** A presigned upload: the upload processor holds the file in memory while it parses every row. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
export const MAX_DATA_LIST_COLUMNS = 32;

export const DataListColumn = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must start with a letter and hold up to 64 letters, digits, _ or -'),
    secret: z.boolean().optional().meta({
      description:
        'Encrypted at rest with the account data key; returned only in the authorization response of the programmer that gets the row, never in lists, reads, logs or audit. Default false.',
    }),
    maxLength: z.number().int().min(1).max(MAX_COLUMN_LENGTH).optional().meta({ description: `Longest value accepted, in characters (default ${MAX_COLUMN_LENGTH})` }),
  })
  .strict()
  .meta({ id: 'DataListColumn' });

export const RowRejection = z
  .object({
    line: z.number().int().meta({ description: '1-based line of the upload (0: the file as a whole, e.g. a checksum mismatch)' }),
    column: z.string().optional(),
    message: z.string(),
  })
  .meta({ id: 'RowRejection' });

export const DataList = z
  .object({
    dataListId: Id,
    name: z.string(),
    columns: z.array(DataListColumn.required()),
    status: z.enum(['empty', 'pending_upload', 'ready', 'rejected']).meta({
      description: '`ready`: rows stored, jobs may name it; `rejected`: the last upload was refused whole (see `rejection`), a new one may follow. A list is filled once.',
    }),
    total: z.number().int(),
    issued: z.number().int().meta({ description: 'Rows taken fresh: handed out to units, or held by a busy device function for its next units (at most 32, and at most a 64th of what was left; those of a function that stops are burned, never handed out twice)' }),
    returned: z.number().int().meta({ description: 'Rows of failed units given back (onFailure return), waiting to be handed out again' }),
    remaining: z.number().int().meta({ description: 'total − issued + returned' }),
    rejection: RowRejection.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'DataList', description: 'A data list as every read shows it: counts, never a row value.' });

export const CreateDataListBody = z
  .object({
    name: Name,
    columns: distinctBy(z.array(DataListColumn).min(1).max(MAX_DATA_LIST_COLUMNS), 'name', 'column names must be unique'),
  })
  .strict();

const UploadFormat = z.enum(['csv', 'jsonl']).meta({
  description: 'csv: RFC 4180, a header naming every column once (any order), then one row a record; jsonl: one JSON object a line with exactly the columns, string values',
});

export const InlineRowsBody = z
  .object({
    format: UploadFormat,
    content: z.string().min(1).max(MAX_INLINE_ROWS_BYTES),
  })
  .strict();

export const DataListUploadBody = z
  .object({
    format: UploadFormat,
    sha256: Sha256Hex,
    sizeBytes: z.number().int().min(1).max(MAX_UPLOAD_BYTES),
  })
  .strict();

const DataListParams = z.object({ dataListId: Id });

export const createDataList = defineRoute({
  operationId: 'createDataList',
  method: 'POST',
  path: '/v1/data-lists',
  summary: 'Create a data list: rows uploaded once, each given to exactly one unit of any job naming the list',
  access: { kind: 'account', minimumRole: 'author', accountWideWrite: true },
  body: CreateDataListBody,
  successStatus: 201,
  response: z.object({ dataList: DataList }),
  idempotent: false,
});

export const listDataLists = defineRoute({
  operationId: 'listDataLists',
  method: 'GET',
  path: '/v1/data-lists',
  summary: 'List the data lists of the account, with their counts (never row values)',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(DataList),
  idempotent: true,
});

export const getDataList = defineRoute({
  operationId: 'getDataList',
  method: 'GET',
  path: '/v1/data-lists/{dataListId}',
  summary: 'Read a data list: status and counts (never row values)',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: DataListParams,
  successStatus: 200,
  response: z.object({ dataList: DataList }),
  idempotent: true,
});

export const uploadDataListRows = defineRoute({
  operationId: 'uploadDataListRows',
  method: 'POST',
  path: '/v1/data-lists/{dataListId}/rows',
  summary: 'Fill a data list with rows given inline (up to 1 MiB); the list is ready when this answers',
  description:
    'Every row is checked against the list\'s columns before any is stored: a bad one is a 409 rows_rejected whose issue (path `content`) names its line and column, and nothing is stored. ' +
    'A list is filled once: a list that has its rows answers 409 invalid_transition.',
  access: { kind: 'account', minimumRole: 'author', accountWideWrite: true },
  params: DataListParams,
  body: InlineRowsBody,
  maxBodyBytes: MAX_INLINE_ROWS_BYTES + 4096,
  successStatus: 200,
  response: z.object({ dataList: DataList }),
  errors: ['rows_rejected', 'invalid_transition'],
  idempotent: false,
});

export const createDataListUpload = defineRoute({
  operationId: 'createDataListUpload',
  method: 'POST',
  path: '/v1/data-lists/{dataListId}/upload-url',
  summary: 'A presigned PUT for a large file of rows (up to 64 MiB), carrying its SHA-256',
  description:
    'PUT the file with exactly the returned headers (`x-amz-checksum-sha256` is signed: S3 refuses other bytes). The upload processor then checks size and SHA-256 again, ' +
    'parses every row and stores them: the list becomes `ready`, or `rejected` with `rejection` naming the first bad line and column, nothing stored. ' +
    'Poll GET /v1/data-lists/{dataListId}. A newer upload URL supersedes one not yet processed. A list that has its rows answers 409 invalid_transition.',
  access: { kind: 'account', minimumRole: 'author', accountWideWrite: true },
  params: DataListParams,
  body: DataListUploadBody,
  successStatus: 201,
  response: z.object({ uploadId: Id, upload: UploadInstructions }),
  errors: ['invalid_transition'],
  idempotent: false,
});
