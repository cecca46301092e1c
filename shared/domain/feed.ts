/**
 * How far behind "now" feeds read (store/feed.ts): longer than any write takes to land plus
 * the clock difference between two Lambda containers, so no item can appear behind a reader.
 * Shared by the store, the contract's descriptions and the tests.
 */
export const FEED_SETTLE_SECONDS = 2;
