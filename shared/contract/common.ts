// A namespace import in every contract module: esbuild then bundles only the zod the console
// uses, whereas `import { z }` keeps all of zod's locales (~350 kB; test/unit/console-bundle.test.ts).
import * as z from 'zod';
import { MAX_CURSOR_LENGTH } from '../domain/cursors.js';
import { FEED_SETTLE_SECONDS } from '../domain/feed.js';

/** Ids are opaque to clients; we still bound them so garbage never reaches a key. */
export const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'must be an id');
export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO-8601 timestamp' });
/**
 * What `String.prototype.trim` removes: a string of only these is blank. Spelled out, not `\s`,
 * because the pattern is also read by OpenAPI tools in other regex dialects (Python's `\s` adds
 * \x1c-\x1f and \x85 and leaves out \ufeff), and the schema must refuse exactly what trimming empties.
 */
const NOT_BLANK = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * Text that is stored trimmed. The length limit applies to the text as sent and the non-blank
 * rule is a pattern, so the OpenAPI schema accepts exactly what the server does (a no-break
 * space alone passes a bare `minLength: 1` but is empty once trimmed).
 */
export function trimmedText(maxLength: number) {
  return z.string().min(1).max(maxLength).regex(NOT_BLANK, 'must not be blank').trim();
}

export const Name = trimmedText(200);

/**
 * A list whose items must all differ: refused with 400 naming the list, and `uniqueItems` in the
 * document, so a client (or a fuzzer) that reads the schema never sends a repeat it thinks valid.
 */
export function distinctItems<T extends z.ZodArray>(list: T, message: string) {
  return list.refine((items) => new Set(items.map((item) => JSON.stringify(item))).size === items.length, { message }).meta({ uniqueItems: true });
}

/**
 * A list of objects whose `key` must differ from item to item (column names, field names).
 * JSON Schema has no keyword for uniqueness by one property: the document carries
 * `uniqueItems` (no two equal items) and the rule in words; the server refuses a repeat with
 * 400 naming the list.
 */
export function distinctBy<T extends z.ZodArray>(list: T, key: string, message: string) {
  return list
    .refine((items) => new Set(items.map((item) => (item as Record<string, unknown>)[key])).size === items.length, { message })
    .meta({ uniqueItems: true, description: `No two items share a \`${key}\` (400 invalid_request otherwise).` });
}

/**
 * Opaque to clients: the server signs it for the list (and account) it came from, so a cursor
 * that was altered, cut short, or taken from another list or account is refused with
 * `400 invalid_request` naming `cursor`.
 */
const Cursor = z
  .string()
  .min(1)
  .max(MAX_CURSOR_LENGTH)
  .meta({ description: `Opaque: a \`nextCursor\` this same list returned (at most ${MAX_CURSOR_LENGTH} characters). Any other value, or one from another list or account, is refused with 400 \`invalid_request\`.` });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: Cursor.optional(),
});

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/**
 * A list in arrival order (the cloud's clock, never a device's) that a client can follow live:
 * `followCursor`, passed back as `cursor`, yields exactly what arrived since, each item once.
 */
export { FEED_SETTLE_SECONDS };

export function feedOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().meta({ description: 'More items are ready now: pass as `cursor`. Null at the end of what has arrived.' }),
    followCursor: z.string().meta({
      description:
        `Where this page ended. Pass it as \`cursor\` (now or later) to receive exactly the items that arrived after it, each once, in arrival order, whatever clocks the devices have. Items become readable ${FEED_SETTLE_SECONDS} s after they arrive, so that none can slip in behind a reader.`,
    }),
  });
}

/** `since` and `cursor` of an arrival-ordered feed. */
export const FeedQuery = ListQuery.extend({
  since: Timestamp.optional().meta({ description: 'Only items that ARRIVED at or after this time (inclusive; the cloud\'s clock). Ignored with `cursor`.' }),
  cursor: Cursor.optional().meta({
    description: `Opaque: a \`nextCursor\` or \`followCursor\` this same feed returned (at most ${MAX_CURSOR_LENGTH} characters); it takes precedence over \`since\`. Any other value, or one from another feed or account, is refused with 400 \`invalid_request\`.`,
  }),
});

export const EmptyBody = z
  .object({})
  .strict()
  .optional()
  .meta({ description: 'No body, or {}' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBodyType = z.infer<typeof ErrorBody>;
