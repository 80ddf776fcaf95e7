/**
 * wake suite: how long a thread blocked in `lease.allocateAsync()` takes to wake up when
 * another thread releases a segment, against the raw primitive it is built on.
 *
 * Method: two worker threads play ping-pong (bench/workers/wake-worker.ts): a round trip is
 * two legs, and in each leg one thread waits and the other wakes it. Subject: both legs are
 * an `allocateAsync()` on an exhausted arena woken by a `release` into that arena from the
 * other thread (two arenas, one per direction, so no thread can take back its own segment).
 * Baseline: the same two threads, both legs a raw `Atomics.waitAsync` + `await` woken by
 * `Atomics.notify`, the waiting style allocateAsync itself uses (src/core/waiters.ts). Info:
 * the same with blocking `Atomics.wait`. The initiator times every round trip; a rep's figure
 * is the median round trip over `trips` of them; reps alternate the order of the three kinds
 * (A B C, then C B A), and rows give the median over reps and the median of per-rep ratios.
 * A wake costs tens of µs (the sleeping thread must be scheduled again); what allocateAsync
 * adds per leg is its queue (a keep-alive timer, the waiter count, a retry after the wake)
 * and one allocation and release.
 * Each thread has its own lease on each arena. Found while writing this suite: with ONE lease
 * shared by both threads (so that lease held the whole arena), a woken waiter retried before
 * the releasing thread had uncharged the segment, failed the charge, and slept until the
 * 100 ms re-check of src/core/waiters.ts: round trips of ~100 ms instead of ~0.1 ms.
 *
 * Goal: ratio = raw round trip / allocateAsync round trip >= 1/1.5 (0.667), i.e. waking
 * through the arena takes at most 1.5x the raw wait/notify round trip.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Arena } from '../../src/index.js';
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';
import { WAKE_PING, WAKE_PONG, WAKE_WORDS, type FromWakeWorker, type ToWakeWorker, type WakeInit, type WakeKind } from '../workers/wake-protocol.js';
import { SEG } from './core.js';
import { Mailbox } from './thread-rig.js';

const WORKER_URL = new URL('../../dist/bench/workers/wake-worker.js', import.meta.url);
const KINDS: readonly WakeKind[] = ['allocateAsync', 'waitAsync', 'wait'];

type Box = Mailbox<FromWakeWorker, ToWakeWorker>;

/** Value at quantile q (0..1) of xs. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}

export const wakeSuite: Suite = {
  name: 'wake',
  description: 'round trip of a blocked allocateAsync woken by a release in another thread vs raw waitAsync/notify',
  async run(options: SuiteOptions): Promise<BenchRow[]> {
    if (!existsSync(WORKER_URL)) {
      throw new Error(`${fileURLToPath(WORKER_URL)} is missing: build first (\`npm run bench\` does: npm run build && tsx bench/run.ts)`);
    }
    const reps = options.quick ? 9 : 21;
    const trips = options.quick ? 250 : 500;
    options.progress(0, 'wake: starting two workers');
    // One segment per trip: a rep moves every segment of one arena to the other thread.
    // scrub: false, so a segment changing lease is not zeroed: this suite measures waking.
    const arenas = [new Arena({ size: trips * SEG, scrub: false }), new Arena({ size: trips * SEG, scrub: false })] as const;
    // Each worker its own lease on each arena. (One lease shared by both threads would hold the
    // whole arena; see the note on the first row.)
    const leases = (['initiator', 'echo'] as const).flatMap((role) => arenas.map((a, k) => a.lease({ name: `wake-${role}-${k}` })));
    const control = new SharedArrayBuffer(WAKE_WORDS * 4);
    const ctrl = new Int32Array(control);
    const spawn = (role: WakeInit['role']): Box => {
      const mine = role === 'initiator' ? 0 : 2;
      const init: WakeInit = {
        role,
        arenas: [arenas[0].descriptor, arenas[1].descriptor],
        leases: [leases[mine]!.descriptor, leases[mine + 1]!.descriptor],
        control,
      };
      return new Mailbox<FromWakeWorker, ToWakeWorker>(new Worker(WORKER_URL, { workerData: init }));
    };
    const initiator = spawn('initiator');
    const echo = spawn('echo');
    const problems: string[] = [];
    const perRep = new Map<WakeKind, number[]>(KINDS.map((k) => [k, []]));
    const allTrips = new Map<WakeKind, number[]>(KINDS.map((k) => [k, []]));
    try {
      await initiator.expect('ready');
      await echo.expect('ready');
      initiator.post({ type: 'fill', arena: 0 });
      echo.post({ type: 'fill', arena: 1 });
      const f0 = await initiator.expect('filled');
      const f1 = await echo.expect('filled');
      if (f0.held !== trips || f1.held !== trips) throw new Error(`wake: workers hold ${f0.held} and ${f1.held} segments, expected ${trips} each`);

      /** The arena the initiator holds, and so releases into, in the next allocateAsync rep. */
      let give: 0 | 1 = 0;
      let round = 0;
      const measure = async (kind: WakeKind): Promise<number[]> => {
        round++;
        if (kind !== 'allocateAsync') {
          Atomics.store(ctrl, WAKE_PING, 0);
          Atomics.store(ctrl, WAKE_PONG, 0);
        }
        echo.post({ type: 'run', round, kind, trips, give: give === 0 ? 1 : 0 });
        await echo.expect('armed');
        initiator.post({ type: 'run', round, kind, trips, give });
        const r = await initiator.expect('result');
        await echo.expect('done');
        if (r.round !== round || r.ns.length !== trips) throw new Error(`wake: bad result for round ${round}`);
        if (kind === 'allocateAsync') give = give === 0 ? 1 : 0;
        return r.ns.map((x) => x / 1000);
      };

      // Warm-up: one rep of each kind (JIT, first wakes), not recorded.
      for (const kind of KINDS) {
        options.progress(0.05, `wake: warm-up, ${kind}`);
        await measure(kind);
      }
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? KINDS : [...KINDS].reverse();
        for (const [j, kind] of order.entries()) {
          options.progress(0.1 + (0.9 * (rep * KINDS.length + j)) / (reps * KINDS.length), `wake: rep ${rep + 1}/${reps}, ${kind}`);
          const us = await measure(kind);
          perRep.get(kind)!.push(median(us));
          allTrips.get(kind)!.push(...us);
        }
      }
      options.progress(1, 'wake: done');
    } finally {
      initiator.post({ type: 'exit' });
      echo.post({ type: 'exit' });
      // A worker left blocked (its partner failed mid-rep) never reads 'exit': terminate it.
      const gone = Promise.all([initiator.exited(), echo.exited()]).then(() => true);
      if (!(await Promise.race([gone, sleep(5000, undefined, { ref: false }).then(() => false)]))) {
        problems.push('a worker did not exit within 5 s and was terminated');
        await Promise.all([initiator.worker.terminate(), echo.worker.terminate()]);
      }
      for (const l of leases) l.close();
      for (const [k, a] of arenas.entries()) {
        const audit = a.audit();
        a.close();
        if (!audit.ok) problems.push(`arena ${k} audit failed after the bench: ${audit.problems.join('; ')}`);
      }
    }
    for (const p of problems) options.log(`wake: ${p}`);

    const spread = (kind: WakeKind): string => {
      const xs = allTrips.get(kind)!;
      return `${kind} round trips: p10 ${quantile(xs, 0.1).toFixed(1)} µs, median ${quantile(xs, 0.5).toFixed(1)} µs, p90 ${quantile(xs, 0.9).toFixed(1)} µs over ${xs.length}`;
    };
    const row = (id: string, subject: string, of: WakeKind, baseline: string, against: WakeKind, goal: number | null, notes: string[]): BenchRow => {
      const pr = pairedRatio(perRep.get(against)!, perRep.get(of)!); // time ratio: baseline / subject
      return {
        id,
        baseline,
        ratio: pr.median,
        goal,
        unit: 'µs/round trip',
        details: {
          subject,
          value: median(perRep.get(of)!),
          baselineValue: median(perRep.get(against)!),
          reps,
          ratioMin: pr.min,
          ratioMax: pr.max,
          ratios: pr.ratios,
          reliable: true,
          notes,
        },
      };
    };
    return [
      row('wake/allocateasync-vs-waitasync', 'allocateAsync woken by release, both legs', 'allocateAsync', 'raw waitAsync/notify, both legs', 'waitAsync', 0.667, [
        `a round trip = two wakes between the same two worker threads; goal 0.667 = 1/1.5: at most 1.5x the raw round trip`,
        'each leg of the subject: arm allocateAsync on an exhausted arena, the other thread releases into it; each thread its own lease, arenas with scrub: false (no zeroing)',
        spread('allocateAsync'),
        spread('waitAsync'),
        ...problems,
      ]),
      row('wake/allocateasync-vs-wait', 'allocateAsync woken by release, both legs', 'allocateAsync', 'raw blocking Atomics.wait/notify', 'wait', null, [spread('wait')]),
      row('wake/waitasync-vs-wait', 'raw waitAsync/notify', 'waitAsync', 'raw blocking Atomics.wait/notify', 'wait', null, [
        'what the asynchronous style itself costs against a blocked thread (the event loop must run to deliver the wake)',
      ]),
    ];
  },
};
