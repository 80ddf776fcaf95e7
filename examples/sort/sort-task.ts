/**
 * The sort task (run as built JavaScript: dist/examples/sort/sort-task.js). One call sorts one
 * share of the input inside the task's own lease, whose hard limit is the run's `memory`:
 *
 *   input   the share's segments belong to the main thread's input lease; the task rehydrates
 *           them from their handles and reads them in place (a PagedReader): nothing was copied
 *           to hand them over.
 *   memory  sorting n bytes in memory takes 2n (the records plus the radix sort's scratch).
 *   fits    2 × share ≤ limit: copy the share into lease segments (a PagedWriter), sort, return.
 *   spills  otherwise (Flink's external sorter): cut the share into runs of limit / 2, sort each
 *           in memory and write it to a temporary file, releasing its memory; then merge the
 *           files, each read back through ONE segment refilled from the file, into the output
 *           run (a PagedWriter over the lease). Peak: max(limit, share + one segment per run).
 *   output  `{ run: { segments, length } }`: the TaskManager moves the segments into the
 *           caller's `into` lease without copying a byte.
 * Spill files are removed before the task settles, whatever happens (finally); an abort
 * (ctx.signal) is honoured between runs and between merge steps.
 */
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PagedReader, PagedWriter, type Lease, type PagedData, type TaskContext } from '../../src/index.js';
import { RunMerger } from './merge.js';
import { P_SPILLS, P_WORK, PROGRESS_EVERY, type SortTaskInput, type SortTaskOutput } from './protocol.js';
import { countDigits, newCounts, radixSort, restoreKeys } from './radix.js';
import { RECORD_BYTES, sortHi, sortLo } from './records.js';
import { FileRunSource, removeFiles, writeRunFile } from './spill.js';

export default async function sortShare(input: SortTaskInput, ctx: TaskContext): Promise<SortTaskOutput> {
  const started = performance.now();
  const { lease, arena, signal } = ctx;
  const segmentSize = arena.segmentSize;
  const perSegment = segmentSize / RECORD_BYTES;
  const progress = new Int32Array(input.progress);
  const records = input.length / RECORD_BYTES;
  const limitSegments = lease.limit / segmentSize;
  const shareSegments = Math.ceil(input.length / segmentSize);
  const share = new PagedReader(input.handles.map((h) => arena.segment(h)), { length: input.length });
  const files: string[] = [];
  let passes = 0;
  let spilledBytes = 0;
  const finish = (run: PagedData): SortTaskOutput => ({
    run,
    stats: {
      share: input.share, slot: ctx.slot, records, inMemory: files.length === 0, spills: files.length, spilledBytes,
      passes, leasePeak: lease.peak, leaseLimit: lease.limit, ms: performance.now() - started,
    },
  });
  try {
    if (signal.aborted) throw signal.reason;
    if (2 * shareSegments <= limitSegments) {
      const run = sortRun(share, records, lease, progress);
      passes += run.passes;
      return finish(run.data);
    }
    const runRecords = Math.floor(limitSegments / 2) * perSegment;
    const runs = runRecords === 0 ? Infinity : Math.ceil(records / runRecords);
    if (shareSegments + runs > limitSegments) {
      throw new Error(`task memory (${lease.limit} bytes) cannot hold share ${input.share} (${input.length} bytes) plus one read segment per spilled run`);
    }
    for (let r = 0; r < runs; r++) {
      const run = sortRun(share, Math.min(runRecords, records - r * runRecords), lease, progress);
      passes += run.passes;
      const path = join(input.spillDir, `share-${input.share}-run-${r}.bin`);
      files.push(path);
      writeRunFile(path, run.data.segments, run.data.length);
      lease.release(run.data.segments);
      spilledBytes += run.data.length;
      Atomics.add(progress, P_SPILLS, 1);
      if (input.inject === 'fail') throw new Error(`injected failure after spilling run ${r} of share ${input.share} (--inject fail)`);
      if (input.inject === 'crash') process.exit(70); // in a worker: only this thread ends, its files stay
      if (input.inject === 'stall') await stallUntilAborted(signal);
      await checkpoint(signal);
    }
    const sources: FileRunSource[] = [];
    try {
      for (const f of files) sources.push(new FileRunSource(f, lease));
      const out = new PagedWriter(lease);
      const merger = new RunMerger(sources.map((s) => new PagedReader(s)), out);
      while (!merger.done) {
        Atomics.add(progress, P_WORK, merger.step(PROGRESS_EVERY));
        await checkpoint(signal);
      }
      return finish(out.finish());
    } finally {
      for (const s of sources) s.close();
    }
  } finally {
    removeFiles(files);
  }
}

/**
 * Copy the next `n` records of `input` into new segments of `lease` (keys turned into their
 * order-preserving form, digits counted on the way), radix-sort them with a scratch buffer of the
 * same size, turn the keys back, and keep whichever buffer holds the result.
 */
function sortRun(input: PagedReader, n: number, lease: Lease, progress: Int32Array): { data: PagedData; passes: number } {
  const counts = newCounts();
  const w = new PagedWriter(lease);
  // int32 words (same bits as uint32): they stay small integers in V8 (see merge.ts).
  for (let i = 0; i < n; i++) {
    const lo = input.readInt32();
    const hi = input.readInt32();
    const sLo = sortLo(lo, hi) | 0;
    const sHi = sortHi(hi) | 0;
    countDigits(counts, sLo, sHi);
    w.writeInt32(sLo);
    w.writeInt32(sHi);
    w.writeInt32(input.readInt32());
    w.writeInt32(input.readInt32());
    if ((i & (PROGRESS_EVERY - 1)) === PROGRESS_EVERY - 1) Atomics.add(progress, P_WORK, PROGRESS_EVERY);
  }
  Atomics.add(progress, P_WORK, n & (PROGRESS_EVERY - 1));
  const data = w.finish();
  if (data.segments.length === 0) return { data, passes: 0 };
  const perSegment = data.segments[0]!.size / RECORD_BYTES;
  const scratch = lease.allocateMany(data.segments.length);
  const a = data.segments.map((s) => s.as(Uint32Array));
  const b = scratch.map((s) => s.as(Uint32Array));
  const { sorted, passes } = radixSort(a, b, n, counts, perSegment);
  restoreKeys(sorted, n, perSegment);
  const inA = sorted === a;
  lease.release(inA ? scratch : data.segments);
  return { data: { segments: inA ? data.segments : scratch, length: data.length }, passes };
}

/** Let the event loop turn (the abort signal is delivered there), then honour an abort. */
async function checkpoint(signal: AbortSignal): Promise<void> {
  await nextTurn();
  if (signal.aborted) throw signal.reason;
}

/** For the Ctrl-C test: wait here until the run is aborted (at most a minute). */
async function stallUntilAborted(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
  if (!signal.aborted) throw new Error('--inject stall: nobody aborted the task within a minute');
}
