/**
 * Stress of the core arena with real worker_threads (issue "Core arena", Tests, bullets 3-4).
 *
 * Two workers (test/fixtures/churn-worker.ts, run as built JavaScript from dist/) attach to
 * one arena, each opens its own lease, and churn: allocate and release in seeded random order
 * (never LIFO), stamp every segment on grant, verify the stamp before release, and catch a
 * segment granted twice with a side table (CAS 0 → workerId on every grant). Any error a
 * worker meets, a hung worker, and a failed audit() also count as corruption.
 *
 * First, on one thread, each check of the detector is shown to fire. Then the detector runs
 * on a small arena (batch 1: the central Treiber stack on about every other operation), on a
 * larger one (batch 32: the thread caches refill and flush), and on a small one with the ABA
 * tag switched off, where it MUST see corruption: that proves the clean runs could fail.
 * (With the tag off, what fires is the free list's own check, ERR_INTERNAL "bad batch", and
 * audit(): pop() refuses a head whose STATE is not FREE, so ABA shows up as a broken or
 * leaking list long before a segment can be handed out twice.)
 *
 * Scale: SEGMENT_ARENA_STRESS_MS (default 1500) is each clean run's churn time, the ABA-off
 * run gets max(2x that, 5 s) but stops at the first sign; SEGMENT_ARENA_STRESS_SEED (default
 * 0x5eed) seeds the workers' random choices (thread interleaving is not reproducible).
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Arena, type ArenaOptions, type AuditReport } from '../src/index.js';
import { ChurnChecker } from './fixtures/churn-checker.js';
import { expectAuditOk } from './helpers.js';
import { CONTROL_WORDS, C_STOP, type ChurnConfig, type ChurnReport } from './fixtures/churn-protocol.js';

const KiB = 1024;
const STRESS_MS = Number(process.env['SEGMENT_ARENA_STRESS_MS'] ?? 1500);
const SEED = Number(process.env['SEGMENT_ARENA_STRESS_SEED'] ?? 0x5eed);
const WORKER_URL = new URL('../dist/test/fixtures/churn-worker.js', import.meta.url);
/** After the churn time: how long workers get to finish before the stop word is raised... */
const WIND_DOWN_MS = 5_000;
/** ...and how long after that before the main thread terminates the ones still running. */
const TERMINATE_AFTER_STOP_MS = 2_000;
/** Churn time of the ABA-off run (it stops at the first sign of corruption). */
const ABA_OFF_MS = Math.max(2 * STRESS_MS, 5000);
/** Vitest timeout of a churn test: its churn time, the deadlines above, and room for the checks. */
const timeoutFor = (churnMs: number): number => churnMs + WIND_DOWN_MS + TERMINATE_AFTER_STOP_MS + 20_000;

/** What one worker did, seen from the main thread. */
interface WorkerOutcome {
  readonly workerId: number;
  readonly report: ChurnReport | undefined;
  readonly exitCode: number;
  /** The main thread had to terminate() it: it hung (in a corrupted list, or otherwise). */
  readonly terminated: boolean;
  /** An uncaught exception in the worker. */
  readonly crash: string | undefined;
}

interface ChurnOutcome {
  readonly arena: Arena;
  readonly workers: readonly WorkerOutcome[];
  readonly audit: AuditReport;
  readonly seed: number;
}

interface ChurnPlan {
  readonly arena: ArenaOptions;
  readonly durationMs: number;
  readonly minHeld: number;
  readonly maxHeld: number;
  readonly seed: number;
}

let arenas: Arena[] = [];
afterEach(() => {
  for (const a of arenas) a.close();
  arenas = [];
});

beforeAll(() => {
  if (!existsSync(WORKER_URL)) {
    throw new Error(`${fileURLToPath(WORKER_URL)} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  }
});

interface RunningWorker {
  readonly done: Promise<WorkerOutcome>;
  /** Terminate the worker (it hung); its outcome then says `terminated`. */
  kill(): void;
}

function startWorker(config: ChurnConfig): RunningWorker {
  const worker = new Worker(WORKER_URL, { workerData: config });
  let report: ChurnReport | undefined;
  let crash: string | undefined;
  let terminated = false;
  let exited = false;
  worker.on('message', (m: ChurnReport) => {
    report = m;
  });
  worker.on('error', (e: Error) => {
    crash = `${e.name}: ${e.message}`;
  });
  const done = new Promise<WorkerOutcome>((resolve) => {
    worker.on('exit', (exitCode: number) => {
      exited = true;
      resolve({ workerId: config.workerId, report, exitCode, terminated, crash });
    });
  });
  return {
    done,
    kill(): void {
      if (exited) return;
      terminated = true;
      void worker.terminate();
    },
  };
}

/**
 * Create an arena, run two churn workers on it, wait until both exited (terminating any that
 * is still running WIND_DOWN_MS + TERMINATE_AFTER_STOP_MS after its churn time), then audit.
 */
async function churn(plan: ChurnPlan): Promise<ChurnOutcome> {
  const arena = new Arena(plan.arena);
  arenas.push(arena);
  const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  const side = new SharedArrayBuffer(2 * arena.segmentCount * 4);
  const workers = [1, 2].map((workerId) =>
    startWorker({
      descriptor: arena.descriptor, control, side, workerId, workers: 2, seed: (plan.seed * 31 + workerId) | 0,
      durationMs: plan.durationMs, minHeld: plan.minHeld, maxHeld: plan.maxHeld, stopOnCorruption: true,
    }),
  );
  const all = Promise.all(workers.map((w) => w.done));
  // Hard deadline: raise the stop word, then terminate whoever still runs.
  let killTimer: NodeJS.Timeout | undefined;
  const stopTimer = setTimeout(() => {
    Atomics.store(new Int32Array(control), C_STOP, 1);
    killTimer = setTimeout(() => {
      for (const w of workers) w.kill();
    }, TERMINATE_AFTER_STOP_MS);
  }, plan.durationMs + WIND_DOWN_MS);
  const outcomes = await all;
  clearTimeout(stopTimer);
  clearTimeout(killTimer);
  return { arena, workers: outcomes, audit: arena.audit(), seed: plan.seed };
}

/** Every sign of corruption in a churn run, one line each; empty for a clean run. */
function corruptionSignals(o: ChurnOutcome): string[] {
  const signals: string[] = [];
  for (const w of o.workers) {
    const who = `worker ${w.workerId}`;
    if (w.terminated) signals.push(`${who}: hung, had to be terminated`);
    if (w.crash !== undefined) signals.push(`${who}: crashed: ${w.crash}`);
    if (!w.terminated && w.exitCode !== 0) signals.push(`${who}: exit code ${w.exitCode}`);
    const r = w.report;
    if (r === undefined) {
      if (!w.terminated) signals.push(`${who}: sent no report`);
      continue;
    }
    if (r.doubleGrants > 0) signals.push(`${who}: ${r.doubleGrants} double grant(s)`);
    if (r.corruptPayloads > 0) signals.push(`${who}: ${r.corruptPayloads} corrupt payload(s)`);
    if (r.foreignStamps > 0) signals.push(`${who}: ${r.foreignStamps} grant(s) carrying another worker's stamp`);
    for (const [code, count] of Object.entries(r.errors)) signals.push(`${who}: ${count} x ${code}`);
    signals.push(...r.firstErrors);
  }
  if (!o.audit.ok) signals.push(...o.audit.problems.map((p) => `audit: ${p}`));
  return signals;
}

/** The reports of a run in which no worker was terminated (asserted). */
function reportsOf(o: ChurnOutcome): ChurnReport[] {
  return o.workers.map((w) => {
    expect(w.report, `worker ${w.workerId} sent no report (seed ${o.seed})`).toBeDefined();
    return w.report!;
  });
}

/**
 * A clean run: no corruption signal, both workers did work and left nothing behind, and the
 * arena is whole: a fresh lease on the main thread gets every segment, each exactly once,
 * zeroed (scrubbed after the workers' leases), and gives them all back.
 */
function expectClean(o: ChurnOutcome): ChurnReport[] {
  expect(corruptionSignals(o), `seed ${o.seed}`).toEqual([]);
  const reports = reportsOf(o);
  for (const r of reports) {
    expect(r.ops, `worker ${r.workerId} ops`).toBeGreaterThan(0);
    expect(r.granted, `worker ${r.workerId} granted`).toBeGreaterThan(0);
    expect(r.released, `worker ${r.workerId}: every granted segment released`).toBe(r.granted);
    expect(r.leaseCloseReleased, `worker ${r.workerId}: lease.close() found nothing left`).toBe(0);
    expect(r.stoppedEarly, `worker ${r.workerId} stopped early`).toBe(false);
  }
  const n = o.arena.segmentCount;
  expect(o.audit).toMatchObject({ ok: true, problems: [], free: n, cached: 0, allocated: 0, total: n });

  const lease = o.arena.lease({ name: 'main-after-churn' });
  const all = lease.allocateMany(n);
  expect(all).toHaveLength(n);
  const indices = new Set(all.map((s) => s.index));
  expect(indices.size).toBe(n);
  expect(Math.min(...indices)).toBe(0);
  expect(Math.max(...indices)).toBe(n - 1);
  let nonZero = 0;
  for (const seg of all) {
    const words = seg.as(Int32Array);
    for (let k = 0; k < words.length; k++) if (words[k] !== 0) nonZero++;
  }
  expect(nonZero, 'words not scrubbed after the workers\' leases').toBe(0);
  const full = o.arena.audit();
  expect(full.problems).toEqual([]);
  expect(full).toMatchObject({ ok: true, free: 0, allocated: n, cached: 0, total: n });
  lease.release(all);
  expect(lease.close()).toBe(0);
  const after = o.arena.audit();
  expect(after.problems).toEqual([]);
  expect(after.ok).toBe(true);
  expect(after.free + after.cached).toBe(n);
  return reports;
}

/** Lease `from` stamps every segment of `arena` and releases them; lease `to` takes them all: foreign stamps seen. */
function handOver(arena: Arena): number {
  const n = arena.segmentCount;
  const side = new Int32Array(2 * n);
  const first = new ChurnChecker(side, n, arena.segmentSize, 1, () => {});
  const second = new ChurnChecker(side, n, arena.segmentSize, 2, () => {});
  const from = arena.lease({ name: 'from' });
  for (const seg of from.allocateMany(n)) first.grant(seg);
  while (first.held.length > 0) from.release(first.takeOut(0));
  const to = arena.lease({ name: 'to' });
  for (const seg of to.allocateMany(n)) second.grant(seg);
  expect(second.fromOther).toBe(n);
  expect(second.doubleGrants).toBe(0);
  while (second.held.length > 0) to.release(second.takeOut(0));
  expect(first.corruptPayloads + second.corruptPayloads).toBe(0);
  expect([from.close(), to.close()]).toEqual([0, 0]);
  return second.foreignStamps;
}

describe('the churn detector, on one thread', () => {
  it('counts a double grant and a damaged stamp, and clears the side table on release', () => {
    // Two arenas of one shape sharing one side table stand in for an arena that grants a segment twice.
    const n = 8;
    const a = new Arena({ size: n * 4 * KiB, segmentSize: 4 * KiB });
    const b = new Arena({ size: n * 4 * KiB, segmentSize: 4 * KiB });
    arenas.push(a, b);
    const side = new Int32Array(2 * n);
    let alarms = 0;
    const one = new ChurnChecker(side, n, 4 * KiB, 1, () => alarms++);
    const two = new ChurnChecker(side, n, 4 * KiB, 2, () => alarms++);
    const la = a.lease({ name: 'a' });
    const lb = b.lease({ name: 'b' });
    const sa = la.allocate();
    const sb = lb.allocateMany(n).find((s) => s.index === sa.index)!;
    one.grant(sa);
    expect([one.doubleGrants, alarms, side[sa.index]]).toEqual([0, 0, 1]);
    two.grant(sb);
    expect([two.doubleGrants, two.fromOther, alarms, side[sa.index]]).toEqual([1, 1, 1, 1]);
    // An intact stamp passes and frees the side word; the double-granted holder leaves it alone.
    la.release(one.takeOut(0));
    expect([one.corruptPayloads, side[sa.index]]).toEqual([0, 0]);
    two.takeOut(0);
    expect([two.corruptPayloads, side[sa.index]]).toEqual([0, 0]);
    // One damaged word of eight (the middle of the segment) is a corrupt payload.
    const sc = la.allocate();
    one.grant(sc);
    sc.setInt32(2 * KiB, 12345);
    la.release(one.takeOut(0));
    expect([one.corruptPayloads, alarms]).toEqual([1, 2]);
  });

  it('sees another lease\'s stamp only when scrubbing is off', () => {
    const n = 8;
    const scrubbed = new Arena({ size: n * 4 * KiB, segmentSize: 4 * KiB });
    const unscrubbed = new Arena({ size: n * 4 * KiB, segmentSize: 4 * KiB, scrub: false });
    arenas.push(scrubbed, unscrubbed);
    expect(handOver(unscrubbed)).toBe(n);
    expect(handOver(scrubbed)).toBe(0);
  });
});

describe('core arena under two real worker_threads', () => {
  it('small arena (64 segments, batch 1: the central list on every cache miss): no double grant, no corrupt payload, audit ok', async () => {
    const o = await churn({
      arena: { size: 64 * 4 * KiB, segmentSize: 4 * KiB }, durationMs: STRESS_MS, minHeld: 1, maxHeld: 6, seed: SEED,
    });
    const reports = expectClean(o);
    for (const r of reports) {
      expect(r.maxHeldSeen).toBeLessThanOrEqual(6);
      // Segments really moved between the two threads (through the central list).
      expect(r.fromOther, `worker ${r.workerId} never got a segment the other worker had held`).toBeGreaterThan(0);
    }
  }, timeoutFor(STRESS_MS));

  it('large arena (8192 segments, batch 32: caches refill and flush): no double grant, no corrupt payload, audit ok', async () => {
    // Holding 1-6 segments would never empty or fill a 64-segment cache after its first
    // refill; sweeping 1-160 moves whole batches through the central list all the time.
    const o = await churn({
      arena: { size: 8192 * 4 * KiB, segmentSize: 4 * KiB }, durationMs: STRESS_MS, minHeld: 1, maxHeld: 160, seed: SEED + 1,
    });
    const reports = expectClean(o);
    for (const r of reports) expect(r.maxHeldSeen).toBeGreaterThan(32);
    expect(reports[0]!.fromOther + reports[1]!.fromOther, 'no segment moved between the threads').toBeGreaterThan(0);
  }, timeoutFor(STRESS_MS));

  it('with the ABA tag switched off the same churn is caught corrupting the free list', async () => {
    // Workers stop at the first sign; a run in which only audit() sees the damage (lost
    // segments) churns for the whole time, so it gets a longer time than the clean runs.
    const o = await churn({
      arena: { size: 64 * 4 * KiB, segmentSize: 4 * KiB, unsafeDisableAbaTag: true },
      durationMs: ABA_OFF_MS, minHeld: 1, maxHeld: 6, seed: SEED + 2,
    });
    const signals = corruptionSignals(o);
    // Printed so that a run shows which detectors fired.
    const sum = (f: (r: ChurnReport) => number): number => o.workers.reduce((t, w) => t + (w.report ? f(w.report) : 0), 0);
    const codes = o.workers.flatMap((w) => Object.entries(w.report?.errors ?? {}).map(([c, k]) => `${c} x${k}`));
    console.log(
      `ABA tag off (seed ${o.seed}): doubleGrants ${sum((r) => r.doubleGrants)}, corruptPayloads ${sum((r) => r.corruptPayloads)}, ` +
        `foreignStamps ${sum((r) => r.foreignStamps)}, errors [${codes.join(', ')}], audit problems ${o.audit.problems.length}, ` +
        `terminated ${o.workers.filter((w) => w.terminated).length}, ops ${sum((r) => r.ops)}; first: ${signals[0] ?? '-'}`,
    );
    expect(signals.length, 'the churn did not detect ABA with the tag off').toBeGreaterThan(0);
  }, timeoutFor(ABA_OFF_MS));
});

describe('close() racing allocate/release on the same lease in another thread', () => {
  it('regression: close() recycled a segment twice or stole one mid-allocation (odd/even generations fix it)', async () => {
    const trials = Number(process.env.SEGMENT_ARENA_CLOSE_TRIALS ?? 400);
    const arena = new Arena({ size: 64 * 4096, segmentSize: 4096 });
    const worker = new Worker(new URL('../dist/test/fixtures/close-race-worker.js', import.meta.url), {
      workerData: { arena: arena.descriptor },
    });
    const codes = new Map<string, number>();
    const bad: string[] = [];
    try {
      for (let t = 0; t < trials && bad.length === 0; t++) {
        const lease = arena.lease({ name: `t${t}` });
        worker.postMessage(lease.descriptor);
        await once(worker, 'message'); // the worker is about to churn
        const until = Date.now() + (t % 3);
        while (Date.now() < until); // vary where close() lands
        lease.close();
        const [r] = (await once(worker, 'message')) as [{ ops: number; code: string; live: number }];
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        if (r.live !== 0) bad.push(`trial ${t}: ${r.live} segment object(s) still live after close`);
        const report = arena.audit();
        if (!report.ok) bad.push(`trial ${t}: ${report.problems.slice(0, 3).join('; ')}`);
      }
    } finally {
      worker.postMessage('bye');
      await once(worker, 'exit');
    }
    expect(bad).toEqual([]);
    // Every churn ended because the lease closed under it, never with another error.
    expect([...codes.keys()].every((c) => c === 'ERR_LEASE_CLOSED' || c === 'ERR_SEGMENT_RELEASED')).toBe(true);
    expect(codes.get('ERR_LEASE_CLOSED') ?? 0).toBeGreaterThan(0);
    expect(arena.lease().allocateMany(64)).toHaveLength(64);
    expectAuditOk(arena);
    arena.close();
  });
});
