export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values (no interpolation: every figure was really measured). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(sorted.length ? total / sorted.length : 0),
  };
}

export function median(values: readonly number[]): number {
  return summarize(values).p50;
}

/** Latencies by request kind (operationId, or `imageDownload` for the S3 GET). */
export class LatencyRecorder {
  private readonly samples = new Map<string, number[]>();

  record(kind: string, ms: number): void {
    const list = this.samples.get(kind);
    if (list) list.push(ms);
    else this.samples.set(kind, [ms]);
  }

  get total(): number {
    let total = 0;
    for (const list of this.samples.values()) total += list.length;
    return total;
  }

  summary(): Record<string, LatencySummary> {
    return Object.fromEntries([...this.samples.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, values]) => [kind, summarize(values)]));
  }
}
