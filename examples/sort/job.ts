/**
 * The sort job, start to end, on one TaskManager (which creates the arena from the plan):
 *
 *   generate  main thread → segments of the `input` lease, one PagedWriter per share.
 *   sort      one task per share (sort-task.ts). The task gets its share's segment HANDLES and
 *             reads the records in place; it returns its sorted run as segments of its lease,
 *             which the TaskManager moves into the `runs` lease (zero-copy) before run() settles.
 *             When a run arrives, the share's input segments are released.
 *   merge     main thread: a k-way heap merge of the runs (PagedReaders that release each run
 *             segment as soon as it is merged) into the `output` lease (a PagedWriter).
 *   baseline  a one-thread Float64Array sort of the same keys, in the same process.
 *   verify    the output read back: in order, same count and checksum as the input, and its keys
 *             equal to the baseline's sorted keys one by one.
 *
 * Any failure or Ctrl-C (`signal`) aborts the tasks still running (their ctx.signal fires; they
 * remove their spill files as they stop); the TaskManager is closed (drained) in every case, so
 * no thread writes into the temporary directory once this function has returned.
 */
import { existsSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PagedReader, PagedWriter, TaskManager, type AuditReport } from '../../src/index.js';
import { InputGenerator } from './generate.js';
import { RunMerger } from './merge.js';
import type { ShowcaseOptions } from './options.js';
import type { SortPlan } from './plan.js';
import type { Progress } from './progress.js';
import { P_SPILLS, P_WORK, PROGRESS_WORDS, type SortTaskInput, type SortTaskOutput, type SortTaskStats } from './protocol.js';
import { OutputVerifier } from './verify.js';

/** Per-slot figures of the summary. Memory in bytes. */
export interface SlotSummary {
  readonly slot: number;
  readonly tasks: number;
  readonly spilledTasks: number;
  readonly spills: number;
  /** Largest peak of a task lease on this slot, and the lease limit (the run's `memory`). */
  readonly leasePeak: number;
  readonly leaseLimit: number;
  /** The TaskManager's figures: most memory admitted on the slot at once, and slotMemory. */
  readonly admittedPeak: number;
  readonly slotMemory: number;
}

export interface JobSummary {
  readonly records: number;
  readonly bytes: number;
  readonly seed: number;
  readonly slots: number;
  readonly segmentSize: number;
  readonly arenaSize: number;
  readonly taskMemory: number;
  /** Milliseconds per phase. */
  readonly ms: { generate: number; sort: number; merge: number; verify: number; baseline: number };
  readonly throughput: { seconds: number; megabytesPerSecond: number; recordsPerSecond: number };
  readonly baseline: { seconds: number; keysPerSecond: number; ratio: number };
  readonly handoff: { inputSegments: number; runSegments: number };
  readonly tasks: readonly SortTaskStats[];
  readonly slotStats: readonly SlotSummary[];
  readonly spills: { tasks: number; files: number; bytes: number };
  readonly verification: {
    readonly ok: boolean;
    readonly sorted: boolean;
    readonly firstUnsorted: number;
    readonly recordsIn: number;
    readonly recordsOut: number;
    readonly checksumIn: string;
    readonly checksumOut: string;
    /** Index of the first output key that differs from the baseline's sorted keys, or -1. */
    readonly firstBaselineMismatch: number;
  };
  readonly audit: { ok: boolean; problems: readonly string[] };
}

const STEP = 1 << 20;

export async function runSortJob(
  o: ShowcaseOptions,
  plan: SortPlan,
  spillDir: string,
  signal: AbortSignal,
  progress: Progress,
): Promise<JobSummary> {
  const taskUrl = sortTaskUrl();
  const tm = new TaskManager({
    arena: { size: plan.arenaSize, segmentSize: plan.segmentSize },
    slots: plan.slots,
    slotMemory: plan.taskMemory,
  });
  const arena = tm.arena;
  // Stops the tasks: on Ctrl-C, or at the first task that fails.
  const stop = new AbortController();
  const onSignal = (): void => stop.abort(signal.reason);
  signal.addEventListener('abort', onSignal, { once: true });
  const input = arena.lease({ name: 'input' });
  const runs = arena.lease({ name: 'runs' });
  const output = arena.lease({ name: 'output' });
  let audit: AuditReport | undefined;
  try {
    const checkpoint = async (): Promise<void> => {
      await nextTurn();
      if (stop.signal.aborted) throw stop.signal.reason;
    };

    // ---- generate ------------------------------------------------------------------------------
    progress.phase('generate', plan.records, 'records');
    let t = performance.now();
    const gen = new InputGenerator(plan, input, o.seed);
    for (let done = 0; !gen.done; ) {
      done += gen.step(STEP);
      progress.update(done);
      await checkpoint();
    }
    const msGenerate = performance.now() - t;

    // ---- sort: one task per share ------------------------------------------------------------
    const counters = new Int32Array(new SharedArrayBuffer(PROGRESS_WORDS * 4));
    progress.phase('sort', plan.work, 'records');
    const poll = setInterval(() => progress.update(Atomics.load(counters, P_WORK), Atomics.load(counters, P_SPILLS)), 100);
    t = performance.now();
    const firstSpiller = plan.shares.findIndex((s) => s.spills);
    const outputs: SortTaskOutput[] = [];
    let failure: { error: unknown } | undefined;
    try {
      await Promise.all(
        gen.shares.map((share, i) => {
          const task: SortTaskInput = {
            share: i,
            handles: share.segments.map((s) => s.handle),
            length: share.length,
            spillDir,
            progress: counters.buffer as SharedArrayBuffer,
            ...(i === firstSpiller && o.inject !== undefined ? { inject: o.inject } : {}),
          };
          return tm.run<SortTaskOutput>(taskUrl, task, { memory: plan.taskMemory, into: runs, signal: stop.signal }).then(
            (out) => {
              outputs[i] = out;
              // The run is here: the share's input is no longer needed.
              input.release(share.segments);
              arena.flushCache();
            },
            (error: unknown) => {
              failure ??= { error };
              stop.abort(error);
            },
          );
        }),
      );
    } finally {
      clearInterval(poll);
    }
    if (signal.aborted) throw signal.reason;
    if (failure !== undefined) throw failure.error;
    progress.update(plan.work, Atomics.load(counters, P_SPILLS));
    const msSort = performance.now() - t;
    const handoff = {
      inputSegments: gen.shares.reduce((n, s) => n + s.segments.length, 0),
      runSegments: outputs.reduce((n, out) => n + out.run.segments.length, 0),
    };
    const slotFigures = tm.stats().slots;

    // ---- merge the runs on the main thread -----------------------------------------------------
    progress.phase('merge', plan.records, 'records');
    t = performance.now();
    const readers = outputs.map((out) => new PagedReader(out.run.segments, { length: out.run.length, release: (s) => runs.release(s) }));
    const writer = new PagedWriter(output);
    const merger = new RunMerger(readers, writer);
    while (!merger.done) {
      merger.step(STEP);
      progress.update(merger.merged);
      await checkpoint();
    }
    for (const r of readers) r.close();
    const merged = writer.finish();
    arena.flushCache();
    const msMerge = performance.now() - t;

    // ---- baseline: the same keys, one thread, Float64Array.prototype.sort -------------------------
    progress.phase('baseline', 1, 'sort');
    await nextTurn(); // let the bar show the phase: the sort itself blocks the thread
    t = performance.now();
    gen.keys.sort();
    const msBaseline = performance.now() - t;
    progress.update(1);

    // ---- verify ----------------------------------------------------------------------------------
    progress.phase('verify', plan.records, 'records');
    t = performance.now();
    const verifier = new OutputVerifier(new PagedReader(merged.segments, { length: merged.length, release: (s) => output.release(s) }), gen.keys);
    for (let done = 0; !verifier.done; ) {
      done += verifier.step(STEP);
      progress.update(done);
      await checkpoint();
    }
    const msVerify = performance.now() - t;
    progress.stop();

    const sortSeconds = (msSort + msMerge) / 1000;
    const tasks = outputs.map((out) => out.stats);
    const recordsOut = verifier.checksum.count;
    const verification = {
      sorted: verifier.firstUnsorted < 0,
      firstUnsorted: verifier.firstUnsorted,
      recordsIn: gen.checksum.count,
      recordsOut,
      checksumIn: gen.checksum.digest,
      checksumOut: verifier.checksum.digest,
      firstBaselineMismatch: verifier.firstMismatch,
    };
    // Close before the summary: audit() is exact only once every thread is gone.
    input.close();
    runs.close();
    output.close();
    audit = (await tm.close()).audit;
    return {
      records: plan.records,
      bytes: plan.bytes,
      seed: o.seed,
      slots: plan.slots,
      segmentSize: plan.segmentSize,
      arenaSize: plan.arenaSize,
      taskMemory: plan.taskMemory,
      ms: { generate: msGenerate, sort: msSort, merge: msMerge, verify: msVerify, baseline: msBaseline },
      throughput: {
        seconds: sortSeconds,
        megabytesPerSecond: plan.bytes / 1e6 / sortSeconds,
        recordsPerSecond: plan.records / sortSeconds,
      },
      baseline: {
        seconds: msBaseline / 1000,
        keysPerSecond: plan.records / (msBaseline / 1000),
        ratio: msBaseline / 1000 / sortSeconds,
      },
      handoff,
      tasks,
      slotStats: slotFigures.map((s): SlotSummary => {
        const mine = tasks.filter((x) => x.slot === s.slot);
        return {
          slot: s.slot,
          tasks: mine.length,
          spilledTasks: mine.filter((x) => !x.inMemory).length,
          spills: mine.reduce((n, x) => n + x.spills, 0),
          leasePeak: Math.max(0, ...mine.map((x) => x.leasePeak)),
          leaseLimit: plan.taskMemory,
          admittedPeak: s.memoryPeak,
          slotMemory: s.memoryLimit,
        };
      }),
      spills: {
        tasks: tasks.filter((x) => !x.inMemory).length,
        files: tasks.reduce((n, x) => n + x.spills, 0),
        bytes: tasks.reduce((n, x) => n + x.spilledBytes, 0),
      },
      verification: {
        ...verification,
        ok:
          verification.sorted &&
          verification.recordsIn === verification.recordsOut &&
          verification.recordsOut === plan.records &&
          verification.checksumIn === verification.checksumOut &&
          verification.firstBaselineMismatch < 0,
      },
      audit: { ok: audit.ok, problems: audit.problems },
    };
  } finally {
    signal.removeEventListener('abort', onSignal);
    progress.stop();
    if (audit === undefined) {
      // A failure or an interruption: give everything back and wait until no thread runs.
      for (const l of [input, runs, output]) l.close();
      await tm.close();
    }
  }
}

/**
 * The built task module. Node 20 cannot start a .ts file in a worker: the task is loaded as
 * JavaScript from dist/ (`npm start` builds first), from the sources (tsx) as from dist itself.
 */
function sortTaskUrl(): URL {
  const url = import.meta.url.endsWith('.js')
    ? new URL('./sort-task.js', import.meta.url)
    : new URL('../../dist/examples/sort/sort-task.js', import.meta.url);
  if (!existsSync(url)) throw new Error(`cannot find the built task ${fileURLToPath(url)}: run \`npm run build\` first`);
  return url;
}
