/**
 * Printing a stress summary, and the soak verdict.
 */
import type { StressSummary } from './driver.js';

const n = (x: number): string => x.toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The summary as an aligned two-column table. */
export function summaryTable(s: StressSummary): string {
  const rows: [string, string][] = [
    ['seed', String(s.seed)],
    ['wall time', `${(s.wallMs / 1000).toFixed(1)} s`],
    ['rounds', n(s.rounds)],
    ['tasks', n(s.tasks)],
    ['operations (in tasks)', `${n(s.ops.total)}  (alloc ${n(s.ops.alloc)}, release ${n(s.ops.release)}, transfer ${n(s.ops.transfer)})`],
    ['operations (main thread)', n(s.mainOps)],
    ['stamps verified', n(s.verified)],
    ['fresh segments checked zero in full', n(s.scrubChecked)],
    ['limit refusals checked', n(s.limitHits)],
    ['exhaustion refusals checked', n(s.exhausted)],
    ['allocateAsync resolved / timed out', `${n(s.waitsResolved)} / ${n(s.waitsTimedOut)}`],
    ['gifts received / segments returned', `${n(s.giftsReceived)} / ${n(s.returned)}`],
    ['runs refused: into full', n(s.intoFull)],
    ['outcomes', Object.entries(s.outcomes).sort().map(([k, v]) => `${k} ${n(v)}`).join(', ')],
    ['kills: exit', n(s.kills.exit)],
    ['kills: throw in a timer', n(s.kills.timer)],
    ['kills: heap exhaustion', n(s.kills.heap)],
    ['kills: terminate()', n(s.kills.terminate)],
    ['kills: abort ignored (forced)', n(s.kills.abortKill)],
    ['collateral crashes (explained)', n(s.collateral)],
    ['lease samples while running', n(s.samples)],
    ['rounds with a kill mid-call → repair()', `${n(s.repairRounds)} (recovered ${n(s.repaired)} segment(s); ${n(s.preRepairFindings)} pre-repair audit finding(s))`],
    ['rounds with deaths between calls only', `${n(s.cleanDeathRounds)} (audited strictly, no repair)`],
    ['census: segments re-allocated', n(s.censused)],
    ['TaskManager threads / killed / leaked / reclaimed', `${n(s.tm.threads)} / ${n(s.tm.killed)} / ${n(s.tm.leaked)} / ${n(s.tm.reclaimed)}`],
    ['VIOLATIONS', n(s.violations.length)],
  ];
  if (s.stoppedEarly !== undefined) rows.push(['stopped early', s.stoppedEarly]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`);
  const bar = '-'.repeat(w + 40);
  const out = [bar, ...lines, bar];
  for (const k of s.preRepairKinds) out.push(`  pre-repair finding (after a kill): ${k}`);
  for (const v of s.violations.slice(0, 20)) out.push(`  violation (round ${v.round}): ${v.what}`);
  if (s.violations.length > 20) out.push(`  … and ${s.violations.length - 20} more`);
  return out.join('\n');
}

/** The soak verdict: what "flat" means, and whether RSS and the arena stayed flat. */
export interface SoakVerdict {
  readonly flat: boolean;
  readonly lines: string[];
}

/**
 * Flat, defined:
 *   arena  at every quiescent point (after each round: all runs settled, every lease of the
 *          round closed) allocated == 0 and cached == 0 — nothing leaks from round to round;
 *   RSS    after a warm-up (the first 20 % of the run, at least the first 3 rounds), the median
 *          RSS of the last quarter of the quiescent samples is within 10 % of the median of the
 *          first quarter. The least-squares slope is printed as well.
 */
export function soakVerdict(s: StressSummary): SoakVerdict {
  const q = s.quiescent;
  const lines: string[] = [];
  const leaky = q.filter((x) => x.allocated !== 0 || x.cached !== 0);
  const arenaFlat = leaky.length === 0 && q.length > 0;
  const totals = [...new Set(q.map((x) => x.total))];
  lines.push(`arena: ${q.length} quiescent samples; allocated/cached back to 0 at ${q.length - leaky.length} of them; segment count ${totals.join(' → ')} → ${arenaFlat ? 'FLAT' : 'NOT FLAT'}`);
  const warm = Math.max(3, q.findIndex((x) => x.atMs >= s.wallMs * 0.2));
  const post = q.slice(warm);
  let rssFlat = false;
  if (post.length < 4) {
    lines.push(`rss: only ${post.length} samples after warm-up: too few to judge`);
  } else {
    const quarter = Math.max(1, Math.floor(post.length / 4));
    const first = median(post.slice(0, quarter).map((x) => x.rss));
    const last = median(post.slice(-quarter).map((x) => x.rss));
    const growth = (last - first) / first;
    const slope = slopePerMinute(post.map((x) => [x.atMs, x.rss]));
    const heapFirst = median(post.slice(0, quarter).map((x) => x.heapUsed));
    const heapLast = median(post.slice(-quarter).map((x) => x.heapUsed));
    rssFlat = growth < 0.1;
    lines.push(
      `rss: after warm-up ${mib(first)} → ${mib(last)} (${(growth * 100).toFixed(1)} %, slope ${mib(slope)}/min over ${post.length} samples); ` +
        `main heap ${mib(heapFirst)} → ${mib(heapLast)} → ${rssFlat ? 'FLAT' : 'NOT FLAT'} (limit: +10 %)`,
    );
  }
  const flat = arenaFlat && rssFlat && s.violations.length === 0;
  lines.push(`verdict: ${flat ? 'FLAT' : 'NOT FLAT'}${s.violations.length > 0 ? ` (${s.violations.length} violation(s))` : ''}`);
  return { flat, lines };
}

function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 === 1 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

function slopePerMinute(points: [number, number][]): number {
  const k = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / k;
  const my = points.reduce((a, [, y]) => a + y, 0) / k;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}
