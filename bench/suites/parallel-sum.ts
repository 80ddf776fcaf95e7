/**
 * Suite `parallel-sum`: a float64 sum over 1 GiB held in the arena (128 MiB with --quick), split
 * across 2 TaskManager slots, against the same sum on one thread.
 *
 * Data: the main thread fills a lease of 1 MiB segments once, outside every timed region. Element
 * j of the segment at position s holds (j mod 1024) / 2 + s: every value and every partial sum is a
 * multiple of 1/2 far below 2^53, so any summation order gives the exact total, which is computed
 * in closed form; each position contributes a different amount, so a segment summed twice or
 * skipped changes the result. Every variant's sum is checked against it in every rep (a mismatch
 * throws: a bench that sums wrong is worthless).
 *
 * Subject: 2 concurrent `tm.run`s of sum-tasks.js (2 slots); each gets the handles of half of the
 * segments in its input, rehydrates them (`ctx.arena.segment(h)`) and sums them in place: no byte
 * is copied and the tasks allocate nothing. Timed on the main thread from before the two runs to
 * both results (dispatch included). All variants run the same kernel (sum-kernel.ts).
 * Baselines, each rep in alternating order (A B C D, D C B A):
 * - one thread: the main thread sums the same segments in place;
 * - piscina with the data copied in: a raw piscina pool of 2 threads sums plain (non-shared)
 *   Float64Array copies of the data, sent as 16 MiB chunks by structured clone (4 in flight);
 * - piscina with a plain SharedArrayBuffer: the same bytes in one SharedArrayBuffer, each of 2
 *   raw piscina runs sums half of it in place: sharing memory by hand, with no library. Against
 *   one thread it is what this machine gives two summing threads at all (the ceiling of the goal);
 * - a memcpy probe: the main thread copies the same bytes segment by segment into a 64 MiB plain
 *   buffer (reused round robin, larger than any cache): how fast this machine moves these bytes.
 *   A copy reads and writes each byte, so its memory traffic is twice that of a sum.
 * Rows give throughput (GB/s of data summed or copied, 1 GB = 1e9 B); ratio = subject / baseline.
 *
 * Scaling needs two free cores. Each timed thread reads its run-queue wait from Linux's schedstat
 * (sum-schedstat.ts): a rep in which a summing thread waited for a core for more than 10 % of its
 * time, or the later task started late (> max(1 ms, 10 % of the wall time)), measured time slicing
 * with some other process; the goal pair (2 slots, one thread) of such a rep is re-measured up to 3
 * times, and the goal row is marked unreliable when more than a third of the kept reps are still
 * disturbed.
 *
 * Goal: >= 1.7x vs one thread. The piscina and memcpy rows inform. The goal row is also marked
 * unreliable when the no-library pair (2 raw threads on a plain SharedArrayBuffer, same reps)
 * stays below the goal itself: the machine could not scale that far in this run (the memory
 * bandwidth of a VM is shared with its host's other tenants, which schedstat does not show).
 */
import { Piscina } from 'piscina';
import { TaskManager, type MemorySegment } from '../../src/index.js';
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';
import { sumFloat64 } from '../workers/sum-kernel.js';
import { runQueueWaitMs } from '../workers/sum-schedstat.js';
import type { SharedRange } from '../workers/raw-sum-worker.js';
import type { SumInput, SumOutput } from '../workers/sum-tasks.js';
import { pairedRow } from '../rows.js';
import { MiB, WORKERS, alternate, now } from './pool.js';

const TASK = new URL('sum-tasks.js', WORKERS);
const RAW = new URL('raw-sum-worker.js', WORKERS);
const SEGMENT = MiB;
const PER_SEGMENT = SEGMENT / Float64Array.BYTES_PER_ELEMENT;
const PERIOD = 1024;
const SLOTS = 2;
const CHUNK_SEGMENTS = 16;
const COPY_TARGET = 64 * MiB;
/** A timed thread that waited on a run queue for more than this share of its time lost its core. */
const DISTURBED = 0.1;
/** Extra attempts of the goal pair (2 slots, one thread) in a rep where a timed thread lost its core. */
const MAX_RETRIES = 3;

/** Sum of the pattern (j mod 1024) / 2 over one segment. */
const PATTERN_SUM = (PER_SEGMENT / PERIOD) * ((PERIOD * (PERIOD - 1)) / 2) * 0.5;

/** The exact total of `n` segments: each adds PATTERN_SUM plus its position times its length. */
const expectedSum = (n: number): number => n * PATTERN_SUM + PER_SEGMENT * ((n * (n - 1)) / 2);

function check(what: string, got: number, want: number): void {
  if (!(Math.abs(got - want) <= 1e-9 * Math.abs(want))) throw new Error(`parallel-sum: ${what} summed ${got}, expected ${want}`);
}

async function run(o: SuiteOptions): Promise<BenchRow[]> {
  const dataBytes = (o.quick ? 128 : 1024) * MiB;
  const reps = 9; // --quick differs in size (128 MiB), not in reps: a quick rep is short
  const n = dataBytes / SEGMENT;
  const want = expectedSum(n);
  const gb = dataBytes / 1e9;
  // Room for the data plus the thread caches; both slots' budgets (arena / slots) hold a task.
  const tm = new TaskManager({ arena: { size: dataBytes + 256 * MiB, segmentSize: SEGMENT }, slots: SLOTS });
  const raw = new Piscina({ filename: RAW.href, minThreads: SLOTS, maxThreads: SLOTS });
  const data = tm.arena.lease({ name: 'parallel-sum data' });
  try {
    // Fill (outside every timed region).
    o.progress(0, 'parallel-sum: fill');
    const pattern = new Float64Array(PER_SEGMENT);
    for (let j = 0; j < PER_SEGMENT; j++) pattern[j] = (j % PERIOD) * 0.5;
    const segments: MemorySegment[] = data.allocateMany(n);
    for (let s = 0; s < n; s++) {
      const f = segments[s]!.as(Float64Array);
      for (let j = 0; j < PER_SEGMENT; j++) f[j] = pattern[j]! + s;
    }
    const handles = segments.map((s) => s.handle);
    const half = Math.ceil(n / SLOTS);
    const shares: SumInput[] = Array.from({ length: SLOTS }, (_, k) => ({ handles: handles.slice(k * half, (k + 1) * half) }));
    // The piscina baseline's source: plain copies, one exactly-sized buffer per chunk (a clone
    // copies a view's whole buffer).
    const chunks: Float64Array[] = [];
    for (let c = 0; c < n; c += CHUNK_SEGMENTS) {
      const m = Math.min(CHUNK_SEGMENTS, n - c);
      const chunk = new Float64Array(m * PER_SEGMENT);
      for (let i = 0; i < m; i++) chunk.set(segments[c + i]!.as(Float64Array), i * PER_SEGMENT);
      chunks.push(chunk);
    }
    // The no-library baseline's source: the same values in one plain SharedArrayBuffer.
    const shared = new Float64Array(new SharedArrayBuffer(dataBytes));
    for (let s = 0; s < n; s++) shared.set(segments[s]!.as(Float64Array), s * PER_SEGMENT);
    const halves: SharedRange[] = Array.from({ length: SLOTS }, (_, k) => {
      const first = k * half * PER_SEGMENT;
      return { buffer: shared.buffer as SharedArrayBuffer, offset: first * 8, length: Math.min(half * PER_SEGMENT, n * PER_SEGMENT - first) };
    });
    const copyTarget = new Uint8Array(COPY_TARGET);
    copyTarget.fill(1); // first touch of its pages, outside the timed region

    /** One measurement of a variant: throughput, and whether a timed thread lost its core. */
    interface Measured {
      readonly gbps: number;
      /** A timed thread waited on a run queue (or a task started late); undefined: cannot tell. */
      readonly disturbed: boolean | undefined;
    }
    interface SlotsMeasured extends Measured {
      readonly taskGbps: readonly number[];
      readonly startLag: number;
      readonly endLag: number;
    }
    const lostCore = (waitedMs: number | undefined, ms: number): boolean | undefined =>
      waitedMs === undefined ? undefined : waitedMs > DISTURBED * ms;

    const viaSlots = async (): Promise<SlotsMeasured> => {
      const t0 = now();
      const outs = await Promise.all(shares.map((share) => tm.run<SumOutput>(TASK, share, { memory: SEGMENT })));
      const t1 = now();
      check('2 slots', outs.reduce((a, x) => a + x.sum, 0), want);
      const wall = t1 - t0;
      const startLag = Math.max(...outs.map((x) => x.startedAt)) - t0;
      const waits = outs.map((x) => lostCore(x.waitedMs, x.endedAt - x.startedAt));
      // A task that starts late ran while the other was (partly) done: time slicing, not scaling.
      const late = startLag > Math.max(1, DISTURBED * wall);
      return {
        gbps: gb / (wall / 1000),
        disturbed: waits.includes(undefined) ? undefined : late || waits.includes(true),
        taskGbps: outs.map((x, k) => (shares[k]!.handles.length * SEGMENT) / 1e9 / ((x.endedAt - x.startedAt) / 1000)),
        startLag,
        endLag: t1 - Math.max(...outs.map((x) => x.endedAt)),
      };
    };
    const oneThread = async (): Promise<Measured> => {
      const w0 = runQueueWaitMs();
      const t0 = performance.now();
      let sum = 0;
      for (const s of segments) sum += sumFloat64(s.as(Float64Array));
      const ms = performance.now() - t0;
      const w1 = runQueueWaitMs();
      check('one thread', sum, want);
      return { gbps: gb / (ms / 1000), disturbed: lostCore(w0 === undefined || w1 === undefined ? undefined : w1 - w0, ms) };
    };
    const viaClone = async (upTo = chunks.length): Promise<number> => {
      const t0 = performance.now();
      let next = 0;
      let sum = 0;
      const lane = async (): Promise<void> => {
        while (next < upTo) {
          const part = (await raw.run(chunks[next++]!)) as number; // not `sum += await …`: that reads sum before the await
          sum += part;
        }
      };
      await Promise.all(Array.from({ length: 2 * SLOTS }, lane));
      const ms = performance.now() - t0;
      if (upTo === chunks.length) check('piscina (copied in)', sum, want);
      return gb / (ms / 1000);
    };
    const viaShared = async (): Promise<number> => {
      const t0 = performance.now();
      const parts = (await Promise.all(halves.map((h) => raw.run(h, { name: 'sumShared' })))) as number[];
      const ms = performance.now() - t0;
      check('piscina (plain SharedArrayBuffer)', parts.reduce((a, x) => a + x, 0), want);
      return gb / (ms / 1000);
    };
    const memcpy = async (): Promise<number> => {
      const t0 = performance.now();
      let at = 0;
      for (const s of segments) {
        copyTarget.set(s.as(Uint8Array), at);
        at = (at + SEGMENT) % COPY_TARGET;
      }
      const ms = performance.now() - t0;
      // The last segment copied (position n - 1): element j holds (j mod 1024) / 2 + n - 1.
      const last = new Float64Array(copyTarget.buffer, ((n - 1) * SEGMENT) % COPY_TARGET, PER_SEGMENT);
      if (last[1] !== 0.5 + n - 1 || last[PER_SEGMENT - 1] !== ((PER_SEGMENT - 1) % PERIOD) * 0.5 + n - 1) {
        throw new Error('parallel-sum: the memcpy probe copied the wrong bytes');
      }
      return gb / (ms / 1000);
    };

    // Warm-up: thread start, module load, JIT of the kernel in every thread.
    o.progress(0.1, 'parallel-sum: warm-up');
    await viaSlots();
    await oneThread();
    await viaClone(Math.min(chunks.length, 4 * SLOTS));
    await viaShared();
    await memcpy();

    const pooled: number[] = [];
    const single: number[] = [];
    const cloned: number[] = [];
    const copied: number[] = [];
    const sharedRaw: number[] = [];
    const taskGbps: number[] = [];
    const startLag: number[] = [];
    const endLag: number[] = [];
    let remeasured = 0;
    let disturbedKept = 0;
    let checkable = true;
    for (let r = 0; r < reps; r++) {
      o.progress(0.15 + (0.85 * r) / reps, `parallel-sum: rep ${r + 1}/${reps}`);
      let slots: SlotsMeasured | undefined;
      let one: Measured | undefined;
      const pair = [async () => void (slots = await viaSlots()), async () => void (one = await oneThread())];
      await alternate(r, [
        ...pair,
        async () => void cloned.push(await viaClone()),
        async () => void sharedRaw.push(await viaShared()),
        async () => void copied.push(await memcpy()),
      ]);
      // Re-measure the goal pair while a timed thread lost its core (another process had it).
      for (let retry = 1; retry <= MAX_RETRIES && (slots!.disturbed === true || one!.disturbed === true); retry++) {
        remeasured++;
        await alternate(r + retry, pair);
      }
      const s = slots!;
      const t = one!;
      if (s.disturbed === undefined || t.disturbed === undefined) checkable = false;
      else if (s.disturbed || t.disturbed) disturbedKept++;
      pooled.push(s.gbps);
      single.push(t.gbps);
      taskGbps.push(...s.taskGbps);
      startLag.push(s.startLag);
      endLag.push(s.endLag);
      o.log(
        `parallel-sum rep ${r + 1}/${reps}: 2 slots ${s.gbps.toFixed(2)} GB/s, one thread ${t.gbps.toFixed(2)} GB/s, ` +
          `piscina copied in ${cloned.at(-1)!.toFixed(2)} GB/s, piscina + plain SAB ${sharedRaw.at(-1)!.toFixed(2)} GB/s, memcpy ${copied.at(-1)!.toFixed(2)} GB/s` +
          `${s.disturbed || t.disturbed ? ' (disturbed)' : ''}`,
      );
    }
    o.progress(1, 'parallel-sum: done');
    const totals = tm.stats().totals;
    if (totals.failed + totals.crashed + totals.leaked !== 0) throw new Error(`parallel-sum: tasks failed/crashed/leaked: ${JSON.stringify(totals)}`);
    const size = o.quick ? '128 MiB (--quick; a full run sums 1 GiB)' : '1 GiB';
    const subject = `sum of ${o.quick ? '128 MiB' : '1 GiB'} on ${SLOTS} slots, by handle`;
    return [
      pairedRow({
        id: 'parallel-sum/2-slots-vs-1-thread', subject, baseline: 'the same sum on the main thread',
        unit: 'GB/s', goal: 1.7, better: 'higher', subjectValues: pooled, baselineValues: single,
        notes: [
          `${size} in ${n} x 1 MiB segments; each task sums ${half} segments in place (handles in its input); every sum checked exactly`,
          `inside a task (rehydrate + sum): median ${median(taskGbps).toFixed(2)} GB/s per task, vs ${median(single).toFixed(2)} GB/s for the main thread alone`,
          `outside the tasks: the later task began ${median(startLag).toFixed(2)} ms after the runs were submitted, and the results were back ${median(endLag).toFixed(2)} ms after the later one ended (medians)`,
          checkable
            ? `${disturbedKept} of ${reps} reps kept a timed thread that lost its core (waited on a run queue > ${DISTURBED * 100} % of its time, or a task started late) ` +
              `after ${remeasured} re-measurements (at most ${MAX_RETRIES} per rep); more than a third makes the row UNRELIABLE: it measured time slicing with other processes, not scaling`
            : 'could not check whether the threads kept their cores (/proc/thread-self/schedstat unreadable)',
          `the machine's ceiling in these reps: 2 threads with no library summed ${(pairedRatio(sharedRaw, single).median).toFixed(2)}x one thread` +
            (pairedRatio(sharedRaw, single).median < 1.7 ? ', below the goal: this run cannot test it (UNRELIABLE)' : ''),
        ],
        // The goal is a claim about the library; when two threads with no library at all could
        // not reach it in these same reps (memory bandwidth shared with other tenants of the
        // host, which schedstat does not see), this run cannot test it.
        reliable: (!checkable || disturbedKept <= Math.floor(reps / 3)) && pairedRatio(sharedRaw, single).median >= 1.7,
      }),
      pairedRow({
        id: 'parallel-sum/vs-piscina-clone', subject, baseline: 'piscina, data copied in (structured clone)',
        unit: 'GB/s', goal: null, better: 'higher', subjectValues: pooled, baselineValues: cloned,
        notes: [`piscina: ${SLOTS} threads, ${chunks.length} chunks of ${CHUNK_SEGMENTS} MiB (plain Float64Arrays), ${2 * SLOTS} in flight, each cloned into the worker`],
      }),
      pairedRow({
        id: 'parallel-sum/no-library-2-threads-vs-1-thread', subject: `sum of ${o.quick ? '128 MiB' : '1 GiB'} by 2 raw piscina threads in one plain SharedArrayBuffer`,
        baseline: 'the same sum on the main thread', unit: 'GB/s', goal: null, better: 'higher', subjectValues: sharedRaw, baselineValues: single,
        notes: ['what this machine gives two threads summing shared memory with no library at all: the ceiling for the goal row (same reps)'],
      }),
      pairedRow({
        id: 'parallel-sum/vs-no-library', subject, baseline: 'raw piscina, 2 threads summing a plain SharedArrayBuffer in place',
        unit: 'GB/s', goal: null, better: 'higher', subjectValues: pooled, baselineValues: sharedRaw,
        notes: ['the arena and the TaskManager against sharing memory by hand: the cost of the library on this job'],
      }),
      pairedRow({
        id: 'parallel-sum/vs-memcpy', subject, baseline: 'memcpy of the same bytes, one thread',
        unit: 'GB/s', goal: null, better: 'higher', subjectValues: pooled, baselineValues: copied,
        notes: [
          `copy: typed-array set() of each segment into a ${COPY_TARGET / MiB} MiB plain buffer, round robin; it reads and writes every byte (2x the memory traffic of a sum)`,
          `one-thread sum / memcpy: ${(median(single) / median(copied)).toFixed(2)}x (medians)`,
        ],
      }),
    ];
  } finally {
    data.close();
    await raw.destroy();
    await tm.close();
  }
}

export const parallelSumSuite: Suite = {
  name: 'parallel-sum',
  description: 'float64 sum over 1 GiB in the arena on 2 slots vs one thread, piscina (copied in, or a plain SharedArrayBuffer), memcpy',
  run,
};
