const MINUTE = 60_000;
/** Bar widths the chart may choose from, so labels stay round numbers. */
const BUCKET_MINUTES = [1, 5, 15, 30, 60, 180, 360, 720, 1440, 10080];

export interface Bucket {
  start: number;
  minutes: number;
  success: number;
  failure: number;
}

/** Per-minute result counts; `buckets()` merges them into at most `maxBars` bars. */
export class ResultHistogram {
  private perMinute = new Map<number, { success: number; failure: number }>();
  succeeded = 0;
  failed = 0;

  add(at: string, status: 'success' | 'failure'): void {
    const time = Date.parse(at);
    if (Number.isNaN(time)) return;
    const minute = Math.floor(time / MINUTE) * MINUTE;
    const counts = this.perMinute.get(minute) ?? { success: 0, failure: 0 };
    counts[status] += 1;
    if (status === 'success') this.succeeded += 1;
    else this.failed += 1;
    this.perMinute.set(minute, counts);
  }

  /** At least `minBars` bars, so a short burst reads as a burst on a time axis rather than one wide block. */
  buckets(maxBars = 48, minBars = 24): Bucket[] {
    if (this.perMinute.size === 0) return [];
    const minutes = [...this.perMinute.keys()];
    const first = Math.min(...minutes);
    const last = Math.max(...minutes);
    const span = (last - first) / MINUTE + 1;
    const size = BUCKET_MINUTES.find((candidate) => span / candidate <= maxBars) ?? BUCKET_MINUTES[BUCKET_MINUTES.length - 1]!;
    const width = size * MINUTE;
    const origin = Math.min(Math.floor(first / width) * width, Math.floor(last / width) * width - (minBars - 1) * width);
    const count = Math.floor((last - origin) / width) + 1;
    const buckets: Bucket[] = Array.from({ length: count }, (_, index) => ({ start: origin + index * width, minutes: size, success: 0, failure: 0 }));
    for (const [minute, counts] of this.perMinute) {
      const bucket = buckets[Math.floor((minute - origin) / width)]!;
      bucket.success += counts.success;
      bucket.failure += counts.failure;
    }
    return buckets;
  }
}
