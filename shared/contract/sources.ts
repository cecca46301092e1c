import * as z from 'zod';
import { Id, ListQuery, Name, Timestamp, listOf } from './common.js';
import { defineRoute } from './route.js';

/**
 * The sources of per-unit data (api.md "Per-unit data"): each hands out every value at most
 * once, across all jobs that name it.
 */
export const SerialPool = z
  .object({
    serialPoolId: Id,
    name: z.string(),
    format: z.string(),
    start: z.number().int(),
    step: z.number().int(),
    capacity: z.number().int().meta({ description: 'How many values the pool hands out in all (its format, start and step decide)' }),
    issued: z.number().int().meta({ description: 'Values taken from the source: handed out to units, or held by a busy device function for its next units (at most 32, and at most a 64th of what was left; those of a function that stops are burned, never handed out twice)' }),
    remaining: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'SerialPool' });

export const CreateSerialPoolBody = z
  .object({
    name: Name,
    format: z.string().min(1).max(200).meta({
      description:
        'Fixed text and fields; the value start + index × step is written across the variable fields as one mixed-radix number, the rightmost least significant. ' +
        'Fields: {n} (decimal, unpadded, first variable field only), {n:08} (decimal, 8 digits), {X:6} / {x:6} (hex, upper / lower case, 6 digits), ' +
        '{chars:0-9A-F} (one character from a set of ranges and characters, in the order written), ' +
        '{check:luhn} (Luhn mod 10 over the digits before it), {check:mod37-36} (ISO/IEC 7064 MOD 37,36 over the letters and digits before it), ' +
        '{check:mod11-10} (ISO/IEC 7064 MOD 11,10 over the digits before it); {{ and }} are literal braces. At most 64 characters written.',
      examples: ['SN-{n:08}', 'AB{chars:0-9A-Z}{chars:0-9A-Z}-{X:4}{check:mod37-36}'],
    }),
    start: z
      .number()
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: 'The first value (default 0). One at or past the last value the format can write makes a pool with capacity 0: a job drawing from it gets 409 serials_exhausted.' }),
    step: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();

const SerialPoolParams = z.object({ serialPoolId: Id });

export const createSerialPool = defineRoute({
  operationId: 'createSerialPool',
  method: 'POST',
  path: '/v1/serial-pools',
  summary: 'Create a serial pool that jobs share: no two units of any job naming it get the same value',
  access: { kind: 'account', minimumRole: 'author', accountWideWrite: true },
  body: CreateSerialPoolBody,
  successStatus: 201,
  response: z.object({ serialPool: SerialPool }),
  idempotent: false,
});

export const listSerialPools = defineRoute({
  operationId: 'listSerialPools',
  method: 'GET',
  path: '/v1/serial-pools',
  summary: 'List the serial pools of the account, with what each has issued',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(SerialPool),
  idempotent: true,
});

export const getSerialPool = defineRoute({
  operationId: 'getSerialPool',
  method: 'GET',
  path: '/v1/serial-pools/{serialPoolId}',
  summary: 'Read a serial pool',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: SerialPoolParams,
  successStatus: 200,
  response: z.object({ serialPool: SerialPool }),
  idempotent: true,
});

export const MacBlock = z
  .object({
    macBlockId: Id,
    name: z.string(),
    first: z.string().meta({ description: 'First EUI-48 address, e.g. 00:1B:C5:00:00:00' }),
    last: z.string(),
    count: z.number().int(),
    issued: z.number().int().meta({ description: 'Values taken from the source: handed out to units, or held by a busy device function for its next units (at most 32, and at most a 64th of what was left; those of a function that stops are burned, never handed out twice)' }),
    remaining: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'MacBlock' });

/** 2^32 addresses in one block: far beyond any product line, and a bound on what one registry entry claims. */
export const MAX_MAC_BLOCK_SIZE = 2 ** 32;

export const CreateMacBlockBody = z
  .object({
    name: Name,
    first: z
      .string()
      .regex(/^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/, 'must be an EUI-48 address, e.g. 00:1B:C5:00:00:00')
      .meta({ description: 'EUI-48, with colons, dashes or nothing between the six bytes' }),
    count: z.number().int().min(1).max(MAX_MAC_BLOCK_SIZE),
  })
  .strict();

const MacBlockParams = z.object({ macBlockId: Id });

export const createMacBlock = defineRoute({
  operationId: 'createMacBlock',
  method: 'POST',
  path: '/v1/mac-blocks',
  summary: 'Register a block of EUI-48 addresses the account owns; blocks of one account never overlap',
  access: { kind: 'account', minimumRole: 'admin' },
  body: CreateMacBlockBody,
  successStatus: 201,
  response: z.object({ macBlock: MacBlock }),
  errors: ['mac_block_overlap'],
  idempotent: false,
});

export const listMacBlocks = defineRoute({
  operationId: 'listMacBlocks',
  method: 'GET',
  path: '/v1/mac-blocks',
  summary: 'List the MAC blocks of the account, with what each has issued',
  access: { kind: 'account', minimumRole: 'viewer' },
  query: ListQuery,
  successStatus: 200,
  response: listOf(MacBlock),
  idempotent: true,
});

export const getMacBlock = defineRoute({
  operationId: 'getMacBlock',
  method: 'GET',
  path: '/v1/mac-blocks/{macBlockId}',
  summary: 'Read a MAC block',
  access: { kind: 'account', minimumRole: 'viewer' },
  params: MacBlockParams,
  successStatus: 200,
  response: z.object({ macBlock: MacBlock }),
  idempotent: true,
});
