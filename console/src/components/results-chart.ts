import { html } from 'htm/preact';
import { useId } from 'preact/hooks';
import type { Bucket } from '../incremental.js';

const WIDTH = 640;
const HEIGHT = 180;
const PAD = { top: 12, right: 8, bottom: 24, left: 40 };

function timeLabel(ms: number, withDate: boolean): string {
  const date = new Date(ms);
  return withDate ? date.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Stacked bars of successes and failures per time bucket; plain SVG, no chart library. */
export function ResultsChart({ buckets, succeeded, failed }: { buckets: Bucket[]; succeeded: number; failed: number }) {
  const titleId = useId();
  const descId = useId();
  if (buckets.length === 0) return html`<p class="empty">No results reported yet.</p>`;
  const first = buckets[0]!;
  const last = buckets[buckets.length - 1]!;
  const end = last.start + last.minutes * 60_000;
  const peak = Math.max(1, ...buckets.map((b) => b.success + b.failure));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const barWidth = plotWidth / buckets.length;
  const y = (value: number) => (value / peak) * plotHeight;
  const multiDay = end - first.start > 24 * 3600_000;
  const description = `${succeeded} succeeded and ${failed} failed between ${timeLabel(first.start, true)} and ${timeLabel(end, true)}, in ${first.minutes}-minute bars; at most ${peak} units in one bar.`;

  return html`
    <figure class="chart">
      <svg viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby=${`${titleId} ${descId}`} preserveAspectRatio="none">
        <title id=${titleId}>Results over time</title>
        <desc id=${descId}>${description}</desc>
        <line class="axis" x1=${PAD.left} y1=${PAD.top + plotHeight} x2=${WIDTH - PAD.right} y2=${PAD.top + plotHeight} />
        <line class="axis" x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${PAD.top + plotHeight} />
        <text class="tick" x=${PAD.left - 4} y=${PAD.top + 4} text-anchor="end">${peak}</text>
        <text class="tick" x=${PAD.left - 4} y=${PAD.top + plotHeight} text-anchor="end">0</text>
        <text class="tick" x=${PAD.left} y=${HEIGHT - 6}>${timeLabel(first.start, multiDay)}</text>
        <text class="tick" x=${WIDTH - PAD.right} y=${HEIGHT - 6} text-anchor="end">${timeLabel(end, multiDay)}</text>
        ${buckets.map((bucket, index) => {
          const x = PAD.left + index * barWidth + Math.min(1, barWidth * 0.1);
          const width = Math.max(1, barWidth - Math.min(2, barWidth * 0.2));
          const successHeight = y(bucket.success);
          const failureHeight = y(bucket.failure);
          const base = PAD.top + plotHeight;
          return html`<g>
            <title>${`${timeLabel(bucket.start, multiDay)}: ${bucket.success} succeeded, ${bucket.failure} failed`}</title>
            <rect class="bar-success" x=${x} y=${base - successHeight} width=${width} height=${successHeight} />
            <rect class="bar-failure" x=${x} y=${base - successHeight - failureHeight} width=${width} height=${failureHeight} />
          </g>`;
        })}
      </svg>
      <figcaption><span class="legend legend-success">succeeded</span> <span class="legend legend-failure">failed</span> per ${first.minutes} min</figcaption>
    </figure>
  `;
}
