/**
 * The interleaving checker's scheduler: runs the real core, unchanged, in 2–3 virtual threads
 * (worker_threads running test/fixtures/checker-worker.ts from dist/, whose Atomics facade
 * turns every atomic step into a scheduling point) with exactly one virtual thread running
 * between two scheduling points, and checks every schedule.
 *
 * One schedule: a fresh arena (created here, with the scenario's leases and pre-held
 * segments), posted to the workers, which attach one after the other and run their scripts;
 * then, synchronously in this thread, until every thread is done: check the invariants, ask
 * the strategy who runs, grant that thread one step, wait for its next point.
 *
 * Checked at EVERY scheduling point, from the arena's control words (layout constants of
 * src/core/layout.ts, lease-table.ts, segment-table.ts; the workers are parked, so the reads
 * see a settled state):
 *   L1  count(L_USED) <= L_LIMIT for every lease of the scenario (DESIGN §3: not even
 *       transiently);
 *   G   GEN of every segment never decreases.
 * Checked at the end (after every thread detached):
 *   - no operation failed with a code no sequential execution gives (ERR_INTERNAL, TypeError);
 *   - linearizability against the sequential model (model.ts): nothing granted twice, no
 *     limit exceeded, generations strictly increasing, and the real final owner and generation
 *     of every segment equal the model's;
 *   - an open lease with a reservation has drawn no more than it holds;
 *   - arena.audit().ok; after the main thread closes every lease, a fresh lease allocates
 *     every segment of the arena (nothing lost), and audit() is ok again.
 * A schedule that runs past `maxSteps` (livelock, e.g. a cycle in the list) or whose worker
 * stops reporting for `hangMs` (a loop without atomics) fails too; the scheduler then aborts
 * it (G_ABORT: every facade call throws) or, for a hang, replaces the workers.
 *
 * Performance (2 cores, ~100 µs per sleep/wake round trip): the workers are reused across
 * schedules; both sides spin (bounded) before they sleep on a hand-off word; the only
 * messages per schedule are one 'run' and one 'result' per thread.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Arena, type Lease } from '../../src/index.js';
import {
  H_BATCH, H_MAX_LEASES, H_MAX_SEGMENTS, H_MAX_THREADS, H_SEGMENT_SHIFT, L_LIMIT, L_RES_USED, L_USED, computeLayout, leaseWord, type Layout,
} from '../../src/core/layout.js';
import { CLOSED_BIT, COUNT_MASK } from '../../src/core/lease-table.js';
import { ID_MASK, KIND_MASK, KIND_OWNED, genIdx, stateIdx } from '../../src/core/segment-table.js';
import {
  CTRL_WORDS, G_ABORT, G_MAIN_SLEEP, G_SETUP, G_STEP, INDEX_PRIVATE, KIND_WAIT, MAX_VTHREADS, STEP_KINDS, ST_AT_STEP, ST_DONE, V_INDEX,
  V_KIND, V_OP, V_POINT, V_SLEEP, V_STATUS, V_TURN, vword, type OpOutcome, type ResultMessage, type RunMessage, type VThreadData,
} from '../fixtures/checker-protocol.js';
import { SPIN_STEPS, type Point, type Strategy } from './strategies.js';
import { linearize, type FinalState } from './model.js';
import type { Scenario } from './scenarios.js';

/** The virtual thread's code; CHECKER_WORKER_URL (a file URL) runs another build, e.g. a candidate fix. */
export const WORKER_URL = new URL(process.env['CHECKER_WORKER_URL'] ?? new URL('../../dist/test/fixtures/checker-worker.js', import.meta.url).href);
const SEGMENT_SIZE = 4096;

/** Test-only switches of the core (ArenaOptions.unsafe*) that the checker must catch. */
export type Mutation = 'none' | 'aba' | 'late-limit';

export interface CheckerOptions {
  /** Spin iterations of a parked worker before it sleeps. */
  readonly parkSpin?: number;
  /** Spin iterations of this thread waiting for a report before it sleeps. */
  readonly mainSpin?: number;
  /** Steps after which a schedule counts as a livelock. */
  readonly maxSteps?: number;
  /** A worker silent this long (ms) inside a step is hung. */
  readonly hangMs?: number;
}

export interface ScheduleResult {
  readonly scenario: Scenario;
  readonly strategy: string;
  readonly mutation: Mutation;
  /** The thread chosen at each scheduling point. */
  readonly choices: readonly number[];
  readonly steps: number;
  /** Empty when the schedule passed. */
  readonly violations: readonly string[];
  readonly outcomes: readonly OpOutcome[];
  /** The sequential witness order, when the model found one. */
  readonly witness: string;
}

class HangError extends Error {}

interface Pending {
  resolve(r: ResultMessage): void;
}

/** Read the arena's layout from its header words (the same computation every thread does). */
export function readLayout(control: SharedArrayBuffer): Layout {
  const i32 = new Int32Array(control);
  const segmentShift = i32[H_SEGMENT_SHIFT]!;
  return computeLayout({
    maxSegments: i32[H_MAX_SEGMENTS]!, maxLeases: i32[H_MAX_LEASES]!, maxThreads: i32[H_MAX_THREADS]!,
    segmentSize: 2 ** segmentShift, segmentShift, batch: i32[H_BATCH]!,
  });
}

export class Checker {
  private readonly ctrlBuffer = new SharedArrayBuffer(CTRL_WORDS * 4);
  private readonly ctrl = new Int32Array(this.ctrlBuffer);
  private workers: Worker[] = [];
  private pending: (Pending | null)[] = [];
  private readonly parkSpin: number;
  private readonly mainSpin: number;
  private readonly maxSteps: number;
  private readonly hangMs: number;

  private constructor(o: CheckerOptions) {
    this.parkSpin = o.parkSpin ?? 500;
    this.mainSpin = o.mainSpin ?? 100_000;
    this.maxSteps = o.maxSteps ?? 20_000;
    this.hangMs = o.hangMs ?? 10_000;
  }

  static async start(o: CheckerOptions = {}): Promise<Checker> {
    if (!existsSync(WORKER_URL)) throw new Error(`${fileURLToPath(WORKER_URL)} is missing: run \`npm run build\` first`);
    const c = new Checker(o);
    await c.spawn();
    return c;
  }

  private async spawn(): Promise<void> {
    this.ctrl.fill(0);
    this.workers = [];
    this.pending = [];
    const online: Promise<void>[] = [];
    for (let k = 0; k < MAX_VTHREADS - 1; k++) {
      const data: VThreadData = { ctrl: this.ctrlBuffer, thread: k, parkSpin: this.parkSpin };
      const w = new Worker(WORKER_URL, { workerData: data });
      this.pending.push(null);
      w.on('message', (m: ResultMessage) => {
        const p = this.pending[k];
        this.pending[k] = null;
        p?.resolve(m);
      });
      w.on('error', (e) => {
        const p = this.pending[k];
        this.pending[k] = null;
        p?.resolve({ type: 'result', thread: k, outcomes: [], aborted: false, fatal: `worker error: ${e.stack ?? e.message}` });
      });
      online.push(new Promise((resolve) => w.once('online', () => resolve())));
      this.workers.push(w);
    }
    await Promise.all(online);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }

  /** Wait until thread k published a point after `since` (its V_POINT counter moved). */
  private awaitPoint(k: number, since: number): void {
    const c = this.ctrl;
    const w = vword(k, V_POINT);
    for (let i = 0; i < this.mainSpin; i++) if (Atomics.load(c, w) !== since) return;
    const deadline = Date.now() + this.hangMs;
    Atomics.store(c, G_MAIN_SLEEP, 1);
    try {
      while (Atomics.load(c, w) === since) {
        Atomics.wait(c, w, since, 50);
        if (Date.now() > deadline) throw new HangError(`thread ${k} did not reach its next step within ${this.hangMs} ms`);
      }
    } finally {
      Atomics.store(c, G_MAIN_SLEEP, 0);
    }
  }

  /** Grant thread k one step and wait for its next point; returns its new status. */
  private grant(k: number): number {
    const c = this.ctrl;
    const since = Atomics.load(c, vword(k, V_POINT));
    Atomics.add(c, vword(k, V_TURN), 1);
    if (Atomics.load(c, vword(k, V_SLEEP)) !== 0) Atomics.notify(c, vword(k, V_TURN));
    this.awaitPoint(k, since);
    return Atomics.load(c, vword(k, V_STATUS));
  }

  /** Run one schedule of `scenario` under `strategy`. */
  async run(scenario: Scenario, strategy: Strategy, mutation: Mutation = 'none'): Promise<ScheduleResult> {
    const T = scenario.scripts.length;
    if (T < 1 || T > this.workers.length) throw new Error(`a scenario needs 1..${this.workers.length} threads`);
    const arena = new Arena({
      size: scenario.segments * SEGMENT_SIZE, segmentSize: SEGMENT_SIZE, maxLeases: 8, maxThreads: 8,
      unsafeDisableAbaTag: mutation === 'aba', unsafeLateLimitCheck: mutation === 'late-limit',
    });
    const violations: string[] = [];
    const choices: number[] = [];
    let steps = 0;
    let outcomes: OpOutcome[] = [];
    let witness = '';
    try {
      const l = readLayout(arena.descriptor.control);
      const i32 = new Int32Array(arena.descriptor.control);
      const leases: Lease[] = scenario.leases.map((s, i) =>
        arena.lease({ name: `L${i}`, limit: s.limit * SEGMENT_SIZE, reserve: (s.reserve ?? 0) * SEGMENT_SIZE }));
      const preheld: { handle: number; lease: number; index: number; gen: number }[] = [];
      scenario.leases.forEach((s, i) => {
        for (let k = 0; k < s.pre; k++) {
          const seg = leases[i]!.allocate();
          preheld.push({ handle: seg.handle, lease: i, index: seg.index, gen: seg.handle % 4294967296 });
        }
      });
      const slots = leases.map((x) => x.descriptor.slot);
      const usedWords = slots.map((s) => leaseWord(l, s, L_USED));
      const limitWords = slots.map((s) => leaseWord(l, s, L_LIMIT));
      const genWords = Array.from({ length: scenario.segments }, (_, i) => genIdx(l, i));
      const lastGen = genWords.map((w) => Atomics.load(i32, w));

      // ---- start the virtual threads: each attaches in turn, runs to its first atomic ----
      const c = this.ctrl;
      Atomics.store(c, G_STEP, 0);
      Atomics.store(c, G_ABORT, 0);
      Atomics.store(c, G_SETUP, 0);
      const results: Promise<ResultMessage>[] = [];
      const since: number[] = [];
      for (let k = 0; k < T; k++) {
        since.push(Atomics.load(c, vword(k, V_POINT)));
        results.push(new Promise((resolve) => (this.pending[k] = { resolve })));
        const msg: RunMessage = {
          type: 'run', arena: arena.descriptor, leases: leases.map((x) => x.descriptor),
          preheld: preheld.map((p) => ({ handle: p.handle, lease: p.lease })), script: scenario.scripts[k]!,
        };
        this.workers[k]!.postMessage(msg);
      }
      const status: number[] = [];
      let hung = false;
      try {
        for (let k = 0; k < T; k++) {
          this.awaitPoint(k, since[k]!);
          status.push(Atomics.load(c, vword(k, V_STATUS)));
        }

        // ---- the schedule ----
        const run = new Array<number>(T).fill(0); // consecutive steps of each thread
        let last = -1;
        const describeStep = (k: number): string => {
          if (k < 0) return 'before the first step';
          const kind = STEP_KINDS[Atomics.load(c, vword(k, V_KIND))] ?? '?';
          const w = Atomics.load(c, vword(k, V_INDEX));
          return `t${k} op ${Atomics.load(c, vword(k, V_OP))} before ${kind}(${w === INDEX_PRIVATE ? 'private word' : `word ${w}`})`;
        };
        for (;;) {
          // Invariants at this point.
          for (let j = 0; j < usedWords.length; j++) {
            const used = Atomics.load(i32, usedWords[j]!) & COUNT_MASK;
            const limit = Atomics.load(i32, limitWords[j]!);
            if (used > limit) violations.push(`step ${steps}: lease L${j} USED ${used} > LIMIT ${limit} (${describeStep(last)})`);
          }
          for (let i = 0; i < genWords.length; i++) {
            const g = Atomics.load(i32, genWords[i]!);
            if (((g - lastGen[i]!) | 0) < 0) violations.push(`step ${steps}: segment ${i} GEN went back from ${lastGen[i]} to ${g}`);
            lastGen[i] = g;
          }
          if (violations.length > 0) break;
          const enabled: number[] = [];
          for (let k = 0; k < T; k++) if (status[k] === ST_AT_STEP) enabled.push(k);
          if (enabled.length === 0) break;
          if (steps >= this.maxSteps) {
            violations.push(`no progress: ${this.maxSteps} steps without finishing (livelock? ${enabled.map(describeStep).join('; ')})`);
            break;
          }
          const yielding = Array.from({ length: T }, (_, k) =>
            status[k] === ST_AT_STEP && (Atomics.load(c, vword(k, V_KIND)) === KIND_WAIT || run[k]! >= SPIN_STEPS));
          const awake = enabled.filter((k) => !yielding[k]);
          const lastEnabled = last >= 0 && status[last] === ST_AT_STEP;
          const point: Point = {
            step: steps,
            candidates: awake.length > 0 ? awake : enabled,
            last,
            lastRunnable: lastEnabled && !yielding[last]!,
            yielding,
          };
          const k = strategy.choose(point);
          if (!point.candidates.includes(k)) throw new Error(`strategy ${strategy.name} chose ${k}, not a candidate`);
          choices.push(k);
          for (let j = 0; j < T; j++) run[j] = j === k ? (enabled.length > 1 ? run[j]! + 1 : 0) : 0;
          steps++;
          Atomics.store(c, G_STEP, steps);
          status[k] = this.grant(k);
          last = k;
        }
        if (violations.length > 0) {
          // Unwind the threads still parked: each facade call throws from now on.
          Atomics.store(c, G_ABORT, 1);
          for (let k = 0; k < T; k++) while (status[k] === ST_AT_STEP) status[k] = this.grant(k);
        }
      } catch (e) {
        if (!(e instanceof HangError)) throw e;
        violations.push(`hang: ${e.message}`);
        hung = true;
      }
      if (hung) {
        await this.close();
        await this.spawn();
        return { scenario, strategy: strategy.name, mutation, choices, steps, violations, outcomes, witness };
      }
      const reports = await Promise.all(results);
      outcomes = reports.flatMap((r) => r.outcomes);
      for (const r of reports) if (r.fatal !== null) violations.push(`t${r.thread}: ${r.fatal}`);
      if (violations.length > 0 || reports.some((r) => r.aborted)) {
        return { scenario, strategy: strategy.name, mutation, choices, steps, violations, outcomes, witness };
      }

      // ---- end checks: every thread detached; the arena is quiescent ----
      for (const o of outcomes) {
        if (o.code !== 'ok' && !/^ERR_(LEASE_LIMIT|ARENA_EXHAUSTED|SEGMENT_RELEASED|FOREIGN_SEGMENT|LEASE_CLOSED)$/.test(o.code)) {
          violations.push(`t${o.thread} op ${o.op} (${o.kind}) failed with ${o.code}: ${o.message}`);
        }
      }
      const slotToLease = new Map(slots.map((s, i) => [s, i]));
      const final: FinalState = {
        owner: genWords.map((gw, i) => {
          const st = Atomics.load(i32, stateIdx(l, i));
          if ((st & KIND_MASK) !== KIND_OWNED) return -1;
          return (Atomics.load(i32, gw) & 1) === 1 ? slotToLease.get(st & ID_MASK) ?? -2 : -3;
        }),
        gen: genWords.map((gw) => Atomics.load(i32, gw)),
      };
      const lin = linearize(
        {
          segments: scenario.segments, limits: scenario.leases.map((s) => s.limit), reserves: scenario.leases.map((s) => s.reserve ?? 0),
          preheld, scripts: scenario.scripts,
          slack: (T - 1) * (2 * l.batch + 3), maxSegments: l.maxSegments,
        },
        outcomes,
        final,
      );
      witness = lin.detail;
      if (!lin.ok) violations.push(`not linearizable: ${lin.detail}; final owners [${final.owner.join(',')}] gens [${final.gen.join(',')}]`);
      // A reservation draw stands for a segment the lease holds (IMPLEMENTATION.md §6; repair()
      // enforces the same): more draws than held segments is reserved capacity lost to others.
      scenario.leases.forEach((spec, j) => {
        if ((spec.reserve ?? 0) === 0 || (Atomics.load(i32, usedWords[j]!) & CLOSED_BIT) !== 0) return;
        const drawn = Atomics.load(i32, leaseWord(l, slots[j]!, L_RES_USED));
        const held = final.owner.filter((x) => x === j).length;
        if (drawn > held) violations.push(`lease L${j}: reservation drawn ${drawn} but holds ${held}: ${drawn - held} reserved unit(s) lost`);
      });
      const audit = arena.audit();
      if (!audit.ok) violations.push(`audit after the run: ${audit.problems.join('; ')}`);
      if (violations.length === 0) {
        for (const x of leases) x.close();
        const fresh = arena.lease({ name: 'fresh' });
        try {
          const all = fresh.allocateMany(scenario.segments);
          const indices = new Set(all.map((s) => s.index));
          if (indices.size !== scenario.segments) violations.push(`fresh lease got ${indices.size} distinct of ${scenario.segments} segments`);
        } catch (e) {
          violations.push(`fresh lease could not allocate all ${scenario.segments} segments: ${e instanceof Error ? e.message : String(e)}`);
        }
        fresh.close();
        const again = arena.audit();
        if (!again.ok) violations.push(`audit after the fresh lease: ${again.problems.join('; ')}`);
      }
      return { scenario, strategy: strategy.name, mutation, choices, steps, violations, outcomes, witness };
    } finally {
      arena.close();
    }
  }
}

/** Choices as runs: "0*12 1*3 0*5". */
export function formatChoices(choices: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < choices.length; ) {
    let j = i;
    while (j < choices.length && choices[j] === choices[i]) j++;
    out.push(`${choices[i]}*${j - i}`);
    i = j;
  }
  return out.join(' ');
}

/** Inverse of formatChoices (also accepts plain comma-separated thread ids). */
export function parseChoices(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const [t, n] = part.split('*');
    const thread = Number(t);
    const count = n === undefined ? 1 : Number(n);
    if (!Number.isInteger(thread) || !Number.isInteger(count) || count < 0) throw new Error(`bad choice '${part}'`);
    for (let i = 0; i < count; i++) out.push(thread);
  }
  return out;
}
