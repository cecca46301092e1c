import type { OutputStream } from './io.js';
import { formatBytes } from './output.js';

export interface Progress {
  update(done: number): void;
  finish(): void;
}

/**
 * Upload progress on stderr: a bar redrawn in place with \r on a terminal; elsewhere (CI, pipes,
 * log files) a plain line at every 10 %, because \r-redraws turn into one unreadable line.
 */
export function createProgress(stream: OutputStream, label: string, total: number, now: () => number = () => performance.now()): Progress {
  const started = now();
  let lastDrawn = -Infinity;
  let lastStep = -1;
  let last = 0;
  const rate = (done: number) => {
    const seconds = (now() - started) / 1000;
    return seconds > 0 ? `${formatBytes(done / seconds)}/s` : '';
  };
  const percent = (done: number) => (total === 0 ? 100 : Math.floor((100 * done) / total));

  if (stream.isTTY) {
    const draw = (done: number) => {
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 60));
      const filled = Math.round((width * percent(done)) / 100);
      stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent(done)).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)} ${rate(done)}\u001b[K`);
    };
    return {
      update(done) {
        last = done;
        // Redrawing on every chunk would spend more time on the terminal than on the upload.
        if (now() - lastDrawn < 100 && done < total) return;
        lastDrawn = now();
        draw(done);
      },
      finish() {
        draw(Math.max(last, total));
        stream.write('\n');
      },
    };
  }

  const line = (done: number) => `${label}: ${String(percent(done)).padStart(3)}% (${formatBytes(done)} of ${formatBytes(total)}) ${rate(done)}`.trimEnd();
  return {
    update(done) {
      last = done;
      const step = Math.floor(percent(done) / 10);
      if (step <= lastStep) return;
      lastStep = step;
      stream.write(`${line(done)}\n`);
    },
    finish() {
      if (lastStep < 10) stream.write(`${line(Math.max(last, total))}\n`);
    },
  };
}
