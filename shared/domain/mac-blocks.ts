/** Pure rules of MAC blocks (EUI-48): the address space and overlap between an account's blocks. */

/** 2^48 EUI-48 addresses. */
export const MAC_ADDRESS_SPACE = 2 ** 48;

/** An account's block as its registry keeps it: first and last address (inclusive), block id. */
export type AllocatedRange = [first: number, last: number, macBlockId: string];

/** The first registered range that shares an address with `count` addresses from `first`, if any. */
export function overlappingRange(ranges: readonly AllocatedRange[], first: number, count: number): AllocatedRange | undefined {
  const last = first + count - 1;
  return ranges.find(([from, to]) => from <= last && first <= to);
}
