import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/**
 * How stored text is compressed (result batches, tickets): DynamoDB bills writes per started
 * KiB, so a few hundred bytes decide whether an item costs one write unit or two. Brotli at
 * medium quality is within a few percent of its best size at a fraction of a millisecond for
 * the few KB we store; its default (11) costs 2–40 ms of CPU per call on the request path.
 */
const QUALITY = 6;

export function compactText(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  return brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
}

export function expandText(bytes: Uint8Array): string {
  return brotliDecompressSync(bytes).toString('utf8');
}
