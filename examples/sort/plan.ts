/**
 * The job's plan, from the options alone (so a bad combination is a usage error before anything
 * starts): the shares, the segment size, each task's memory, and the arena that holds it all.
 *
 * Shares are of uneven size on purpose, as the splits of real input are: their weights run
 * evenly from 0.5 to 1.5 (shuffled by the seed). With the default task memory of twice the mean
 * share, a share sorts in memory when 2 × share ≤ task memory, i.e. when it is no larger than the
 * mean: about half the tasks sort in memory and the other half spill.
 *
 * Arena: the input (every share's segments), the memory of the tasks running at once
 * (slots × task memory), and a margin for the segments the threads' caches hold. While tasks
 * run, each share is either input or a finished run (its input is released when its run
 * arrives), never both; while the main thread merges, consumed run segments go back as the
 * output grows. So the input's size plus the tasks' memory bounds both phases.
 */
import { RECORD_BYTES, Rng } from './records.js';
import { UsageError, type ShowcaseOptions } from './options.js';

export interface SharePlan {
  readonly records: number;
  /** Segments that hold the share. */
  readonly segments: number;
  /** True when 2 × share > task memory: the task will spill. */
  readonly spills: boolean;
  /** Runs the task will spill (0 when it sorts in memory). */
  readonly runs: number;
}

export interface SortPlan {
  readonly records: number;
  readonly bytes: number;
  readonly segmentSize: number;
  readonly shares: readonly SharePlan[];
  /** Hard limit of each task's lease (= slotMemory: one task per slot at a time). */
  readonly taskMemory: number;
  readonly arenaSize: number;
  readonly slots: number;
  /** Progress units of the sort phase: records copied in, plus records merged from spill files. */
  readonly work: number;
}

const MAX_ARENA = 4 * 1024 ** 3;
/** Segments kept free for what the threads' caches may hold at a time. */
const CACHE_MARGIN = 64;

export function planJob(o: ShowcaseOptions): SortPlan {
  const records = o.size / RECORD_BYTES;
  const sizes = shareSizes(records, o.tasks, o.seed);
  // 32 KiB segments (the arena's default), smaller for small data sets so that a share still
  // spans enough segments to be cut into runs.
  let segmentSize = 32 * 1024;
  while (segmentSize > 4096 && o.size / o.tasks / segmentSize < 16) segmentSize /= 2;
  const segsOf = (n: number): number => Math.ceil((n * RECORD_BYTES) / segmentSize);
  const shareSegs = sizes.map(segsOf);
  const totalSegs = shareSegs.reduce((a, b) => a + b, 0);
  const meanSegs = Math.ceil(totalSegs / o.tasks);
  const taskSegs = o.taskMemory === undefined ? Math.max(2, 2 * meanSegs) : Math.floor(o.taskMemory / segmentSize);
  const largest = Math.max(...shareSegs);
  if (!fits(largest, taskSegs)) {
    const least = minimumSegments(largest);
    throw new UsageError(
      `--task-memory is too small: the largest share takes ${largest} segments of ${segmentSize} bytes, and a task needs ` +
        `at least ${least * segmentSize} bytes for it (its sorted run plus one read segment per spilled run)`,
    );
  }
  const shares = sizes.map((n, i): SharePlan => {
    const s = shareSegs[i]!;
    const spills = 2 * s > taskSegs;
    return { records: n, segments: s, spills, runs: spills ? Math.ceil(s / Math.floor(taskSegs / 2)) : 0 };
  });
  const arenaSegs = totalSegs + Math.max(o.slots * taskSegs, o.tasks + 2) + CACHE_MARGIN + 32 * (o.slots + 1);
  const arenaSize = arenaSegs * segmentSize;
  if (arenaSize > MAX_ARENA) {
    throw new UsageError(`the job needs an arena of ${arenaSize} bytes, above the 4 GiB an arena can have: lower --size, --slots or --task-memory`);
  }
  return {
    records,
    bytes: o.size,
    segmentSize,
    shares,
    taskMemory: taskSegs * segmentSize,
    arenaSize,
    slots: o.slots,
    work: shares.reduce((w, s) => w + s.records * (s.spills ? 2 : 1), 0),
  };
}

/** Record counts of the shares: weights 0.5 … 1.5, shuffled by the seed, summing to `records`. */
function shareSizes(records: number, tasks: number, seed: number): number[] {
  const weights = Array.from({ length: tasks }, (_, i) => (tasks === 1 ? 1 : 0.5 + i / (tasks - 1)));
  const rng = new Rng(seed ^ 0x5eed5eed);
  for (let i = tasks - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [weights[i], weights[j]] = [weights[j]!, weights[i]!];
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((records * w) / total));
  let left = records - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0; i = (i + 1) % tasks, left--) sizes[i]!++;
  return sizes;
}

/** Can a task with `m` segments sort a share of `s`: in memory (2s), or spilling runs of m/2? */
function fits(s: number, m: number): boolean {
  if (2 * s <= m) return true;
  const run = Math.floor(m / 2);
  return run >= 1 && s + Math.ceil(s / run) <= m;
}

function minimumSegments(s: number): number {
  let m = 1;
  while (!fits(s, m)) m++;
  return m;
}
