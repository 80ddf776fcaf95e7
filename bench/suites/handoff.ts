/**
 * Suite `handoff`: what returning a task's result by handle saves over piscina copying it
 * (structured clone) or transferring it (transfer list), for results of 1 MiB and 64 MiB.
 *
 * Subjects: a task allocates the result in its own lease (pool-tasks.js `produce`, one byte written
 * per segment) and returns the MemorySegments; the TaskManager moves them into the caller's `into`
 * lease by handle (ownership and charge move, no byte is copied). Two arenas, one TaskManager of 1
 * slot each: 1 MiB segments (64 handles for 64 MiB) and 32 KiB segments (2048 handles).
 * Baselines, on a raw piscina pool of 1 thread (raw-piscina-worker.js): the task fills a fresh
 * Uint8Array the same way and returns it (a) by structured clone, (b) with its ArrayBuffer in the
 * transfer list (piscina's Transferable interface, `move()`).
 *
 * Method: the hand-off time runs from the task's last statement (the data exists: `sentAt`, an
 * absolute timestamp, performance.timeOrigin + now(), comparable across threads) to the result
 * being usable on the main thread (the awaited run resolved; for the subject the segments are
 * already MemorySegments of `into`). Each rep runs every variant once per size, alternating the
 * order (A B C D, D C B A); a rep's value is the median of several runs of each variant (3 at
 * 64 MiB; more at 1 MiB, where one hand-off takes tens of µs). Every result is checked (length, and a marker byte in every segment / every 32 KiB).
 * An info row times the whole 64 MiB run (allocation, scrubbing and filling included).
 *
 * Goal: >= 200x vs structured clone at 64 MiB with 1 MiB segments. The 32 KiB-segment, transfer
 * list and 1 MiB rows inform (goal null): a transfer list also moves no bytes, and at 1 MiB both
 * are dominated by the message round trip.
 */
import { Piscina } from 'piscina';
import { TaskManager, type Lease, type MemorySegment } from '../../src/index.js';
import { median } from '../stats.js';
import type { BenchRow, ChartPoint, Suite, SuiteOptions } from '../types.js';
import { PRODUCE_STRIDE, type Produced } from '../workers/raw-piscina-worker.js';
import { pairedRow } from '../rows.js';
import { MiB, WORKERS, alternate, now } from './pool.js';

const TASKS = new URL('pool-tasks.js', WORKERS);
const RAW = new URL('raw-piscina-worker.js', WORKERS);

interface Timing {
  /** From the task's last statement to the result usable here, ms. */
  readonly handoff: number;
  /** The whole run as the caller sees it, ms. */
  readonly run: number;
}

/** A TaskManager of one slot on an arena of `segmentSize` segments, and the caller's `into` lease. */
interface ByHandle {
  readonly tm: TaskManager;
  readonly into: Lease;
  readonly label: string;
}

function makeByHandle(segmentSize: string, label: string): ByHandle {
  // 64 MiB in the task lease, then in `into` (a transfer: never both), plus thread caches.
  const tm = new TaskManager({ arena: { size: '192MiB', segmentSize }, slots: 1 });
  return { tm, into: tm.arena.lease({ name: `handoff-into-${segmentSize}` }), label };
}

async function viaHandles(h: ByHandle, bytes: number): Promise<Timing> {
  const t0 = now();
  const res = await h.tm.run<{ segments: MemorySegment[]; sentAt: number }>(TASKS, bytes, {
    name: 'produce', into: h.into, memory: bytes,
  });
  const t1 = now();
  const n = bytes / h.tm.arena.segmentSize;
  if (res.segments.length !== n) throw new Error(`handoff: ${res.segments.length} segments, expected ${n}`);
  for (let i = 0; i < n; i++) {
    const s = res.segments[i]!;
    if (s.getUint8(0) !== (i & 0xff)) throw new Error(`handoff: segment ${i} holds the wrong bytes`);
  }
  if (h.into.used !== bytes) throw new Error(`handoff: into holds ${h.into.used} bytes, expected ${bytes}`);
  h.into.release(res.segments);
  return { handoff: t1 - res.sentAt, run: t1 - t0 };
}

async function viaPiscina(raw: Piscina, bytes: number, name: 'produce' | 'produceMoved'): Promise<Timing> {
  const t0 = now();
  const res = (await raw.run(bytes, { name })) as Produced;
  const t1 = now();
  if (!(res.data instanceof Uint8Array) || res.data.length !== bytes) throw new Error(`handoff: piscina ${name} returned a bad result`);
  for (let i = 0; i < bytes; i += PRODUCE_STRIDE) {
    if (res.data[i] !== ((i / PRODUCE_STRIDE) & 0xff)) throw new Error(`handoff: piscina ${name} byte ${i} is wrong`);
  }
  return { handoff: t1 - res.sentAt, run: t1 - t0 };
}

/** The four variants at one size: per rep, one value each (median of `inner` runs). */
interface SizeSeries {
  readonly mib: number;
  readonly big: number[]; // by handle, 1 MiB segments
  readonly small: number[]; // by handle, 32 KiB segments
  readonly clone: number[];
  readonly transfer: number[];
  readonly runHandle: number[];
  readonly runClone: number[];
}

async function run(o: SuiteOptions): Promise<BenchRow[]> {
  const reps = o.quick ? 7 : 15;
  const inner1MiB = o.quick ? 9 : 31;
  const inner64MiB = 3;
  const big = makeByHandle('1MiB', '1 MiB segments');
  const small = makeByHandle('32KiB', '32 KiB segments');
  const raw = new Piscina({ filename: RAW.href, minThreads: 1, maxThreads: 1 });
  try {
    const sizes: SizeSeries[] = [1, 64].map((mib) => ({ mib, big: [], small: [], clone: [], transfer: [], runHandle: [], runClone: [] }));
    /** One rep of one size: every variant `inner` times, alternating; record the medians. */
    const oneRep = async (s: SizeSeries, rep: number, inner: number): Promise<void> => {
      const bytes = s.mib * MiB;
      const t: Record<'big' | 'small' | 'clone' | 'transfer', Timing[]> = { big: [], small: [], clone: [], transfer: [] };
      for (let k = 0; k < inner; k++) {
        await alternate(rep + k, [
          async () => void t.big.push(await viaHandles(big, bytes)),
          async () => void t.small.push(await viaHandles(small, bytes)),
          async () => void t.clone.push(await viaPiscina(raw, bytes, 'produce')),
          async () => void t.transfer.push(await viaPiscina(raw, bytes, 'produceMoved')),
        ]);
      }
      const med = (xs: Timing[], k: keyof Timing): number => median(xs.map((x) => x[k]));
      s.big.push(med(t.big, 'handoff'));
      s.small.push(med(t.small, 'handoff'));
      s.clone.push(med(t.clone, 'handoff'));
      s.transfer.push(med(t.transfer, 'handoff'));
      s.runHandle.push(med(t.big, 'run'));
      s.runClone.push(med(t.clone, 'run'));
    };
    // Warm-up: thread start, module loading, JIT, and the first touch of every arena page.
    o.progress(0, 'handoff: warm-up');
    const warm: SizeSeries[] = [1, 64].map((mib) => ({ mib, big: [], small: [], clone: [], transfer: [], runHandle: [], runClone: [] }));
    await oneRep(warm[0]!, 0, 3);
    await oneRep(warm[1]!, 0, 1);
    for (let r = 0; r < reps; r++) {
      o.progress(r / reps, `handoff: rep ${r + 1}/${reps}`);
      await oneRep(sizes[0]!, r, inner1MiB);
      await oneRep(sizes[1]!, r, inner64MiB);
      const m = sizes[1]!;
      o.log(
        `handoff rep ${r + 1}/${reps}, 64 MiB: by handle ${m.big.at(-1)!.toFixed(2)} ms (1 MiB segs), ${m.small.at(-1)!.toFixed(2)} ms ` +
          `(32 KiB segs), clone ${m.clone.at(-1)!.toFixed(2)} ms, transfer ${m.transfer.at(-1)!.toFixed(2)} ms`,
      );
    }
    o.progress(1, 'handoff: done');
    for (const h of [big, small]) {
      const totals = h.tm.stats().totals;
      if (totals.failed + totals.crashed + totals.leaked !== 0) throw new Error(`handoff: tasks failed/crashed/leaked: ${JSON.stringify(totals)}`);
    }
    const [s1, s64] = sizes as [SizeSeries, SizeSeries];
    const pts = (s: SizeSeries, series: 'by handle' | 'structured clone' | 'transfer list'): ChartPoint => ({
      series, x: s.mib, y: median(series === 'by handle' ? s.big : series === 'structured clone' ? s.clone : s.transfer),
    });
    const FROM = "from the task's last statement to the result usable on the main thread";
    const segs = (mib: number, segMiB: number): string => `${(mib / segMiB).toFixed(0)} segment${mib / segMiB === 1 ? '' : 's'} moved`;
    return [
      pairedRow({
        id: 'handoff/64MiB', subject: '64 MiB by handle (64 x 1 MiB segments)', baseline: 'piscina structured clone',
        unit: 'ms', goal: 200, better: 'lower', subjectValues: s64.big, baselineValues: s64.clone,
        notes: [`${FROM}; ${segs(64, 1)} into the caller's lease per run; a rep's value is the median of ${inner64MiB} runs`],
        points: [pts(s64, 'by handle'), pts(s64, 'structured clone')],
      }),
      pairedRow({
        id: 'handoff/64MiB-32KiB-segments', subject: '64 MiB by handle (2048 x 32 KiB segments)', baseline: 'piscina structured clone',
        unit: 'ms', goal: null, better: 'lower', subjectValues: s64.small, baselineValues: s64.clone,
        notes: [`${segs(64, 1 / 32)} per run: each handle is rehydrated and its ownership moved one by one`],
      }),
      pairedRow({
        id: 'handoff/64MiB-vs-transfer', subject: '64 MiB by handle (64 x 1 MiB segments)', baseline: 'piscina transfer list (move)',
        unit: 'ms', goal: null, better: 'lower', subjectValues: s64.big, baselineValues: s64.transfer,
        notes: [
          'a transfer list moves no bytes either (the buffer is detached in the worker): both are a message plus bookkeeping',
          'the transfer time at 64 MiB varies with the mark-compact GCs V8 starts in either thread as 64 MiB of ArrayBuffer memory come and go per run (seen with --trace-gc); arena segments are allocated once',
        ],
        points: [pts(s64, 'transfer list')],
      }),
      pairedRow({
        id: 'handoff/1MiB', subject: '1 MiB by handle (1 x 1 MiB segment)', baseline: 'piscina structured clone',
        unit: 'ms', goal: null, better: 'lower', subjectValues: s1.big, baselineValues: s1.clone,
        notes: [`${FROM}; ${segs(1, 1)}; a rep's value is the median of ${inner1MiB} runs`],
        points: [pts(s1, 'by handle'), pts(s1, 'structured clone')],
      }),
      pairedRow({
        id: 'handoff/1MiB-32KiB-segments', subject: '1 MiB by handle (32 x 32 KiB segments)', baseline: 'piscina structured clone',
        unit: 'ms', goal: null, better: 'lower', subjectValues: s1.small, baselineValues: s1.clone,
        notes: [`${segs(1, 1 / 32)} per run`],
      }),
      pairedRow({
        id: 'handoff/1MiB-vs-transfer', subject: '1 MiB by handle (1 x 1 MiB segment)', baseline: 'piscina transfer list (move)',
        unit: 'ms', goal: null, better: 'lower', subjectValues: s1.big, baselineValues: s1.transfer,
        notes: ['both move no bytes; the round trip dominates'],
        points: [pts(s1, 'transfer list')],
      }),
      pairedRow({
        id: 'handoff/64MiB-run', subject: 'tm.run returning 64 MiB by handle (1 MiB segments)', baseline: 'piscina run returning 64 MiB by clone',
        unit: 'ms', goal: null, better: 'lower', subjectValues: s64.runHandle, baselineValues: s64.runClone,
        notes: ['the whole run as the caller sees it: dispatch, allocation (a fresh buffer, or segments scrubbed on reuse), one byte per 32 KiB or per segment written, hand-off'],
      }),
    ];
  } finally {
    big.into.close();
    small.into.close();
    await raw.destroy();
    await big.tm.close();
    await small.tm.close();
  }
}

export const handoffSuite: Suite = {
  name: 'handoff',
  description: '1 MiB and 64 MiB task results by handle vs piscina structured clone and transfer list',
  chart: { title: 'Task result hand-off: by handle vs piscina', x: 'result size (MiB)', y: 'hand-off time (ms)', logX: true, logY: true },
  run,
};
