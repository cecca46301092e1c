// A namespace import in every contract module: esbuild then bundles only the zod the console
// uses, whereas `import { z }` keeps all of zod's locales (~350 kB; test/unit/console-bundle.test.ts).
import * as z from 'zod';

/** Ids are opaque to clients; we still bound them so garbage never reaches a key. */
export const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'must be an id');
export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO-8601 timestamp' });
export const Name = z.string().trim().min(1).max(200);

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(2048).optional(),
});

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

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
