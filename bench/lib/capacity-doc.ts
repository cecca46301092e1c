import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../scripts/lib/deploy.js';
import type { CapacityResult } from './capacity.js';
import { type FloodResult, renderFlood } from './flood.js';
import type { SpreadResult } from './rate-limit-spread.js';

/**
 * The measured tables of docs/capacity.md, written by `npm run bench` between two markers from
 * the same figures it stores in bench/results/latest.json, so the document never drifts from
 * the last run. The prose around the markers is the team's.
 */
export const CAPACITY_DOC = path.join(ROOT, 'docs', 'capacity.md');
const START = '<!-- measured:start (written by npm run bench) -->';
const END = '<!-- measured:end -->';

const number = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(3))));

export function renderCapacityTables(capacity: CapacityResult, commit: string | null): string {
  const lines = [`Measured at commit \`${commit ?? 'uncommitted'}\`, ${capacity.scenario.authorizationsPerSecond.toLocaleString('en-US')} authorizations/s.`, ''];
  for (const batch of capacity.batches) {
    lines.push(`**Batch ${batch.batch}** (${number(batch.unitsPerSecond)} units/s):`, '', '| quota | demand | limit | utilization | from the counts |', '|---|---|---|---|---|');
    for (const demand of [...batch.demands].sort((a, b) => b.utilization - a.utilization)) {
      lines.push(`| ${demand.what.replace(/\s*\(.*$/, '')} | ${number(demand.demand)} | ${number(demand.limit)} | ${(demand.utilization * 100).toFixed(1)} % | ${demand.from} |`);
    }
    const job = batch.oneJobMaxAuthorizationsPerSecond;
    lines.push(
      '',
      `First limit: **${batch.firstLimit.quota}** at ${(batch.firstLimit.utilization * 100).toFixed(1)} %${batch.firstLimit.exceeded ? ' (exceeded)' : ''}. One job takes at most **${job.value} authorizations/s** (hottest item \`${job.item}\`, ${job.writeUnitsPerAuthorization} write units per authorization).`,
      '',
    );
  }
  return lines.join('\n');
}

/** Rewrites the measured section of docs/capacity.md; a document without the markers is left alone. */
export function updateCapacityDoc(capacity: CapacityResult, commit: string | null): boolean {
  return replaceBetween(START, END, renderCapacityTables(capacity, commit));
}

const FLOOD_START = '<!-- flood:start (written by npm run bench) -->';
const FLOOD_END = '<!-- flood:end -->';

/** The flood step's figures, in their own marked section. */
export function updateFloodDoc(flood: FloodResult, commit: string | null): boolean {
  return replaceBetween(FLOOD_START, FLOOD_END, `Measured at commit \`${commit ?? 'uncommitted'}\`:\n\n\`\`\`\n${renderFlood(flood)}\n\`\`\``);
}

const SPREAD_START = '<!-- spread:start (written by npm run bench) -->';
const SPREAD_END = '<!-- spread:end -->';

/** The rate-limit spread table of docs/capacity.md's rate-limit section. */
export function updateSpreadDoc(spread: SpreadResult): boolean {
  const rows = spread.steps.map((s) => `| ${s.containers} | ${s.writesPerRequest} | ${s.writesPerRequestWithoutPasses} |`);
  return replaceBetween(SPREAD_START, SPREAD_END, ['| containers | lease writes per request, with passes | without |', '|---|---|---|', ...rows].join('\n'));
}

function replaceBetween(startMarker: string, endMarker: string, content: string): boolean {
  const doc = readFileSync(CAPACITY_DOC, 'utf8');
  const start = doc.indexOf(startMarker);
  const end = doc.indexOf(endMarker);
  if (start < 0 || end < start) return false;
  writeFileSync(CAPACITY_DOC, `${doc.slice(0, start + startMarker.length)}\n${content}\n${doc.slice(end)}`);
  return true;
}
