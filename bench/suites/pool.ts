/**
 * Suite `pool` (issue "TaskManager"): what the TaskManager costs over raw piscina, and what a
 * result by handle saves over structured clone. Both subject and baseline run in this process,
 * alternating reps.
 *
 * - dispatch: `tm.run` of an empty task vs `piscina.run` of the same empty task, each keeping
 *   2 x threads runs in flight; per-run time. Goal: overhead at most 1.15x, i.e. ratio
 *   (piscina time / tm time) >= 1 / 1.15.
 * - handoff: a 64 MiB result. Subject: the task allocates 2048 x 32 KiB segments in its lease and
 *   returns them; they move into the caller's `into` lease by handle (no byte copied). Baseline:
 *   a piscina task returns a 64 MiB Uint8Array, copied by structured clone. Measured from the
 *   task's last statement (after the data exists) to the result being usable on the main thread,
 *   with absolute timestamps (performance.timeOrigin + now(), comparable across threads). Goal
 *   >= 200x. A second row times the whole run (allocation included) and only informs.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { TaskManager, type MemorySegment } from '../../src/index.js';
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';

const DIST = new URL('../../dist/bench/workers/', import.meta.url);
const TASKS = new URL('pool-tasks.js', DIST);
const RAW = new URL('raw-piscina-worker.js', DIST);
const MiB = 2 ** 20;
const now = (): number => performance.timeOrigin + performance.now();

async function inFlight(total: number, width: number, start: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (started < total) {
      started++;
      await start();
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return ((performance.now() - t0) * 1000) / total; // µs per run
}

function row(
  id: string, baseline: string, subject: string, unit: string, goal: number | null,
  subjectValues: number[], baselineValues: number[], notes: string[],
): BenchRow {
  const r = pairedRatio(baselineValues, subjectValues);
  return {
    id, baseline, ratio: r.median, goal, unit,
    details: {
      subject, value: median(subjectValues), baselineValue: median(baselineValues), reps: subjectValues.length,
      ratioMin: r.min, ratioMax: r.max, ratios: r.ratios, reliable: true, notes,
    },
  };
}

async function run(o: SuiteOptions): Promise<BenchRow[]> {
  const threads = Math.min(2, availableParallelism());
  const reps = o.quick ? 3 : 9;
  const runs = o.quick ? 300 : 3000;
  const tm = new TaskManager({ arena: { size: '256MiB' }, slots: threads });
  const raw = new Piscina({ filename: RAW.href, minThreads: threads, maxThreads: threads });
  const into = tm.arena.lease({ name: 'bench-into' });
  const tmBig = new TaskManager({ arena: { size: '256MiB', segmentSize: '1MiB' }, slots: 1 });
  const intoBig = tmBig.arena.lease({ name: 'bench-into-1MiB' });
  try {
    // Warm up both: module loading, JIT, thread start.
    await inFlight(200, threads * 2, () => tm.run(TASKS, null, { name: 'empty' }));
    await inFlight(200, threads * 2, () => raw.run(null));
    const tmUs: number[] = [];
    const rawUs: number[] = [];
    for (let r = 0; r < reps; r++) {
      const a = (): Promise<number> => inFlight(runs, threads * 2, () => tm.run(TASKS, null, { name: 'empty' }));
      const b = (): Promise<number> => inFlight(runs, threads * 2, () => raw.run(null));
      if (r % 2 === 0) { tmUs.push(await a()); rawUs.push(await b()); } else { rawUs.push(await b()); tmUs.push(await a()); }
      o.log(`pool dispatch rep ${r + 1}/${reps}: tm ${tmUs.at(-1)!.toFixed(1)} µs, piscina ${rawUs.at(-1)!.toFixed(1)} µs`);
    }

    const bytes = 64 * MiB;
    const hoTm: number[] = [];
    const hoRaw: number[] = [];
    const hoBig: number[] = [];
    const e2eTm: number[] = [];
    const e2eRaw: number[] = [];
    const hoReps = o.quick ? 3 : 7;
    const viaHandles = async (m: TaskManager, to: typeof into, ho: number[], e2e: number[] | undefined): Promise<void> => {
      const t0 = now();
      const res = await m.run<{ segments: MemorySegment[]; sentAt: number }>(TASKS, bytes, { name: 'produce', into: to, memory: '66MiB' });
      const t1 = now();
      if (res.segments.length !== bytes / m.arena.segmentSize || res.segments[5]!.getUint8(0) !== 5) throw new Error('bad result');
      ho.push(t1 - res.sentAt);
      e2e?.push(t1 - t0);
      to.release(res.segments);
    };
    const subject = (): Promise<void> => viaHandles(tm, into, hoTm, e2eTm);
    const subjectBig = (): Promise<void> => viaHandles(tmBig, intoBig, hoBig, undefined);
    const baseline = async (): Promise<void> => {
      const t0 = now();
      const res = (await raw.run(bytes, { name: 'produce' })) as { data: Uint8Array; sentAt: number };
      const t1 = now();
      if (res.data.length !== bytes || res.data[5 * 32 * 1024] !== 5) throw new Error('bad result');
      hoRaw.push(t1 - res.sentAt);
      e2eRaw.push(t1 - t0);
    };
    await subject(); // warm-up (first use of the segments pays the page faults)
    await subjectBig();
    await baseline();
    hoTm.length = hoRaw.length = hoBig.length = e2eTm.length = e2eRaw.length = 0;
    for (let r = 0; r < hoReps; r++) {
      if (r % 2 === 0) { await subject(); await subjectBig(); await baseline(); } else { await baseline(); await subjectBig(); await subject(); }
      o.log(`pool handoff rep ${r + 1}/${hoReps}: by handle ${hoTm.at(-1)!.toFixed(2)} ms, clone ${hoRaw.at(-1)!.toFixed(2)} ms`);
    }
    return [
      row('pool/dispatch', 'raw piscina run (same empty task)', 'tm.run of an empty task', 'µs/run', 1 / 1.15, tmUs, rawUs, [
        `${threads} threads, ${threads * 2} runs in flight, ${runs} runs per rep; ratio = piscina time / tm time (goal: tm overhead <= 1.15x)`,
      ]),
      row('pool/handoff-64MiB', 'piscina structured clone', '64 MiB result by handle (2048 segments)', 'ms', 200, hoTm, hoRaw, [
        'from the task\'s last statement to the result usable on the main thread',
      ]),
      row('pool/handoff-64MiB-1MiB-segments', 'piscina structured clone', '64 MiB result by handle (64 x 1 MiB segments)', 'ms', 200, hoBig, hoRaw, [
        'the same, on an arena of 1 MiB segments: 32x fewer handles to move',
      ]),
      row('pool/handoff-64MiB-run', 'piscina run returning 64 MiB by clone', 'tm.run returning 64 MiB by handle', 'ms', null, e2eTm, e2eRaw, [
        'whole run: allocation (with scrub on reuse) + hand-off; informative',
      ]),
    ];
  } finally {
    into.close();
    intoBig.close();
    await raw.destroy();
    await tm.close();
    await tmBig.close();
  }
}

export const poolSuite: Suite = { name: 'pool', description: 'tm.run vs raw piscina; 64 MiB result by handle vs clone', run };
