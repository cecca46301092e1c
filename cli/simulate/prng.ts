/**
 * A small seeded PRNG. Outcomes are drawn per serial number (seed + serial → one generator), not
 * from one shared stream: concurrent lanes take units in an order that changes from run to run,
 * yet the same seed and serials always give the same successes and failures.
 */

/** cyrb53: a fast 53-bit string hash, good enough to seed a PRNG. */
export function hashString(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** mulberry32: returns numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FAILURE_CODES = ['verify_mismatch', 'erase_timeout', 'no_target_voltage', 'blank_check_failed', 'crc_error'] as const;

export interface UnitOutcome {
  status: 'success' | 'failure';
  errorCode?: string;
}

export function unitOutcome(seed: string, serial: string, failureRate: number): UnitOutcome {
  const random = mulberry32(hashString(`${seed}\u0000${serial}`));
  if (random() >= failureRate) return { status: 'success' };
  return { status: 'failure', errorCode: FAILURE_CODES[Math.floor(random() * FAILURE_CODES.length)]! };
}
