/**
 * Suite `dispatch`: what `tm.run` costs over raw piscina for a task that does nothing.
 *
 * Subject: `tm.run(pool-tasks.js, null, { name: 'empty' })` on a TaskManager of 2 slots (each run
 * opens and closes a task lease, arms a stop flag, is admitted to a slot and pinned to its thread).
 * Baseline: `piscina.run(null)` of the same empty function on a raw piscina pool of the same 2
 * threads (piscina's default options otherwise, so atomics 'sync'), created in this process.
 *
 * Method: both pools are warmed up, then each rep times a batch of runs of one and a batch of the
 * other, alternating which goes first (A B, B A, …). Rows:
 * - dispatch/empty-task (goal): as many runs in flight as there are threads, so every thread
 *   always has a run and neither side queues anything: the per-run cost of dispatch. Goal: the
 *   TaskManager's overhead at most 1.15x, i.e. ratio = piscina time / tm time >= 1 / 1.15.
 * - dispatch/backlog: 2 x threads in flight, so runs wait in a queue. piscina's queue is its own,
 *   and it posts the next queued run from inside the handler of the previous answer; ours is the
 *   memory-aware admission queue, which posts from the answer's promise callback, a step later,
 *   and with a thread wake-up more often lost. Measured gated-outside-piscina costs 8-20% for
 *   raw piscina too (scratch experiment: piscina with a JS queue in front of it). Info.
 * - dispatch/latency: one run at a time, awaited before the next (round-trip latency); info.
 * - dispatch/same-atomics: in flight = threads, against raw piscina with atomics 'async' as the
 *   TaskManager uses (task-manager.ts says why): the TaskManager's own cost alone; info.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { TaskManager } from '../../src/index.js';
import { pairedRatio } from '../stats.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';
import { pairedRow } from '../rows.js';
import { WORKERS, alternate } from './pool.js';

const TASKS = new URL('pool-tasks.js', WORKERS);
const RAW = new URL('raw-piscina-worker.js', WORKERS);

/** Run `total` calls of `start`, `width` at a time; µs per call. */
async function timeRuns(total: number, width: number, start: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < total) {
      started++;
      await start();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: width }, lane));
  return ((performance.now() - t0) * 1000) / total;
}

async function run(o: SuiteOptions): Promise<BenchRow[]> {
  const threads = Math.min(2, availableParallelism());
  const reps = o.quick ? 7 : 15;
  const runs = o.quick ? 800 : 4000;
  const serialRuns = o.quick ? 200 : 800;
  const tm = new TaskManager({ arena: { size: '64MiB' }, slots: threads });
  const raw = new Piscina({ filename: RAW.href, minThreads: threads, maxThreads: threads });
  const rawAsync = new Piscina({ filename: RAW.href, minThreads: threads, maxThreads: threads, atomics: 'async' });
  const tmRun = (): Promise<unknown> => tm.run(TASKS, null, { name: 'empty' });
  const rawRun = (): Promise<unknown> => raw.run(null);
  const rawAsyncRun = (): Promise<unknown> => rawAsync.run(null);
  /** The comparisons: [row id, runs in flight, runs per rep, baseline]. */
  const configs = [
    { id: 'empty-task', width: threads, runs, base: rawRun },
    { id: 'backlog', width: 2 * threads, runs, base: rawRun },
    { id: 'latency', width: 1, runs: serialRuns, base: rawRun },
    { id: 'same-atomics', width: threads, runs, base: rawAsyncRun },
  ] as const;
  try {
    o.progress(0, 'dispatch: warm-up');
    // Module loading, JIT and thread start, for all three pools.
    for (const f of [tmRun, rawRun, rawAsyncRun]) {
      await timeRuns(500, 2 * threads, f);
      await timeRuns(100, 1, f);
    }
    const series = configs.map(() => ({ tm: [] as number[], raw: [] as number[] }));
    for (let r = 0; r < reps; r++) {
      o.progress(r / reps, `dispatch: rep ${r + 1}/${reps}`);
      for (let c = 0; c < configs.length; c++) {
        const { width, runs: n, base } = configs[c]!;
        const out = series[c]!;
        await alternate(r, [
          async () => void out.tm.push(await timeRuns(n, width, tmRun)),
          async () => void out.raw.push(await timeRuns(n, width, base)),
        ]);
      }
      o.log(`dispatch rep ${r + 1}/${reps}: ` + configs.map((c, k) => `${c.id} tm ${series[k]!.tm.at(-1)!.toFixed(1)} / piscina ${series[k]!.raw.at(-1)!.toFixed(1)} µs`).join('; '));
    }
    const stats = tm.stats().totals;
    if (stats.failed + stats.crashed + stats.leaked !== 0) throw new Error(`dispatch: tasks failed/crashed/leaked: ${JSON.stringify(stats)}`);
    o.progress(1, 'dispatch: done');
    const overhead = (k: number): string => (1 / pairedRatio(series[k]!.raw, series[k]!.tm).median).toFixed(2);
    return [
      pairedRow({
        id: 'dispatch/empty-task', subject: `tm.run of an empty task, ${threads} in flight`, baseline: 'raw piscina run (same empty task, defaults)',
        unit: 'µs/run', goal: 1 / 1.15, better: 'lower', subjectValues: series[0]!.tm, baselineValues: series[0]!.raw,
        notes: [
          `${threads} threads each, ${threads} runs in flight (one per thread: nothing queues), ${runs} runs per rep; ratio = piscina time / tm time ` +
            `(goal 1/1.15 = ${(1 / 1.15).toFixed(3)}: tm time at most 1.15x piscina's; measured tm/piscina = ${overhead(0)}x)`,
          "raw piscina with its defaults (atomics 'sync'); the TaskManager runs piscina with atomics 'async' (see task-manager.ts)",
        ],
      }),
      pairedRow({
        id: 'dispatch/backlog', subject: `tm.run of an empty task, ${2 * threads} in flight`, baseline: `raw piscina run, ${2 * threads} in flight`,
        unit: 'µs/run', goal: null, better: 'lower', subjectValues: series[1]!.tm, baselineValues: series[1]!.raw,
        notes: [
          `twice as many runs in flight as threads: half of them wait in a queue (tm/piscina = ${overhead(1)}x). ` +
            "piscina posts the next queued run from inside the handler of the previous answer; the TaskManager's memory-aware admission posts it from that answer's promise callback",
        ],
      }),
      pairedRow({
        id: 'dispatch/latency', subject: 'tm.run of an empty task, one at a time', baseline: 'raw piscina run, one at a time',
        unit: 'µs/run', goal: null, better: 'lower', subjectValues: series[2]!.tm, baselineValues: series[2]!.raw,
        notes: [`${serialRuns} runs per rep, each awaited before the next: the round trip (a thread wake-up each way); tm/piscina = ${overhead(2)}x`],
      }),
      pairedRow({
        id: 'dispatch/same-atomics', subject: `tm.run of an empty task, ${threads} in flight`, baseline: "raw piscina run, atomics 'async' like the TaskManager",
        unit: 'µs/run', goal: null, better: 'lower', subjectValues: series[3]!.tm, baselineValues: series[3]!.raw,
        notes: [`the TaskManager's own cost, both on the same piscina wait mode; tm/piscina = ${overhead(3)}x`],
      }),
    ];
  } finally {
    await raw.destroy();
    await rawAsync.destroy();
    await tm.close();
  }
}

export const dispatchSuite: Suite = {
  name: 'dispatch',
  description: 'tm.run of an empty task vs a raw piscina run of the same task',
  run,
};
