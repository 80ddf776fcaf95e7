/**
 * Scheduling strategies of the interleaving checker: who runs at each scheduling point.
 *
 * A scheduling point is a moment at which every virtual thread is parked before an atomic
 * step (or has finished); the strategy picks one enabled thread, which runs exactly one step.
 * The sequence of picks (the "choices") determines the execution, so a schedule is replayed by
 * feeding the same choices again (ReplayStrategy), or by re-creating a seeded strategy.
 *
 * - RandomStrategy: seeded; at each point it keeps the last thread running with probability
 *   1 − q and otherwise picks uniformly among the candidates; q is drawn per schedule from
 *   {1/2, 1/5, 1/20}, so both fine interleavings and long solo runs occur.
 * - PctStrategy: probabilistic concurrency testing (S. Burckhardt, P. Kothari, M. Musuvathi,
 *   S. Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
 *   ASPLOS 2010). Threads get random distinct priorities d .. d+n−1; d−1 change points are drawn
 *   uniformly in [1, k] (k = the expected number of steps); the highest-priority candidate
 *   always runs; when step number k_i is reached, the thread that ran last drops to priority i
 *   (below every initial priority). Finds any bug of depth d with probability >= 1/(n k^(d−1)).
 * - Exhaustive (Explorer): stateless depth-first enumeration of every schedule with at most
 *   `bound` preemptions (CHESS: M. Musuvathi, S. Qadeer, "Iterative Context Bounding for
 *   Systematic Testing of Multithreaded Programs", PLDI 2007). Each schedule is re-run from a
 *   fresh arena following a prefix of choices, then the non-preemptive default.
 *
 * Fairness: the core's spin loops must not let one thread starve the one it waits for. A thread
 * is `yielding` when its pending step is an Atomics.wait (the core's nap: the facade made it a
 * yield) or when it has run SPIN_STEPS steps in a row while another thread was enabled (a spin
 * loop without a nap, e.g. close() waiting for an allocation in flight). A yielding thread is
 * not a candidate while another thread is enabled; switching away from it is not a preemption
 * (CHESS treats yields the same way), and PCT drops its priority below every other.
 */

/** What a strategy sees at a scheduling point. */
export interface Point {
  /** Scheduling points so far in this schedule (0 at the first). */
  readonly step: number;
  /** Threads allowed to run now, ascending (enabled, and not yielding unless all are). */
  readonly candidates: readonly number[];
  /** The thread that ran the previous step (−1 at the first point). */
  readonly last: number;
  /** The last thread is enabled and not yielding: picking another thread is a preemption. */
  readonly lastRunnable: boolean;
  /** Threads that yield at this point (their pending step is a nap, or they spun). */
  readonly yielding: readonly boolean[];
}

export interface Strategy {
  /** 'random' | 'pct' | 'exhaustive' | 'replay'. */
  readonly name: string;
  choose(p: Point): number;
}

/** Consecutive steps after which a thread that keeps running while others wait is treated as spinning. */
export const SPIN_STEPS = 120;

import { prng } from '../fixtures/rng.js';

export { prng };

/** The non-preemptive default: keep the last thread if it may run, else the lowest candidate. */
export function defaultChoice(p: Point): number {
  return p.lastRunnable && p.candidates.includes(p.last) ? p.last : p.candidates[0]!;
}

const SWITCH_PROBABILITIES = [0.5, 0.2, 0.05];

export class RandomStrategy implements Strategy {
  readonly name = 'random';
  private readonly random: () => number;
  private readonly q: number;

  constructor(seed: number) {
    this.random = prng(seed ^ 0x52414e44);
    this.q = SWITCH_PROBABILITIES[Math.floor(this.random() * SWITCH_PROBABILITIES.length)]!;
  }

  choose(p: Point): number {
    if (p.lastRunnable && p.candidates.includes(p.last) && this.random() >= this.q) return p.last;
    return p.candidates[Math.floor(this.random() * p.candidates.length)]!;
  }
}

export class PctStrategy implements Strategy {
  readonly name = 'pct';
  readonly depth: number;
  private readonly priority: number[];
  /** changeAt[i] = step number of change point i+1 (lowers the running thread to priority i+1). */
  private readonly changeAt: number[];
  private lowest = 0;

  /** `k`: expected steps of a schedule; `depth` d >= 1. */
  constructor(seed: number, threads: number, k: number, depth: number) {
    const random = prng(seed ^ 0x50435421);
    this.depth = depth;
    const order = Array.from({ length: threads }, (_, i) => i);
    for (let i = threads - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.priority = new Array<number>(threads);
    order.forEach((t, rank) => (this.priority[t] = depth + rank));
    this.changeAt = Array.from({ length: depth - 1 }, () => 1 + Math.floor(random() * k));
  }

  choose(p: Point): number {
    if (p.last >= 0) {
      const change = this.changeAt.indexOf(p.step);
      if (change >= 0) this.priority[p.last] = change + 1;
      if (p.yielding[p.last]) this.priority[p.last] = --this.lowest;
    }
    let best = p.candidates[0]!;
    for (const t of p.candidates) if (this.priority[t]! > this.priority[best]!) best = t;
    return best;
  }
}

/** Follows a recorded choice sequence, then the non-preemptive default. */
export class ReplayStrategy implements Strategy {
  readonly name = 'replay';
  constructor(private readonly choices: readonly number[]) {}

  choose(p: Point): number {
    const c = this.choices[p.step];
    if (c === undefined) return defaultChoice(p);
    if (!p.candidates.includes(c)) throw new Error(`replay diverged at step ${p.step}: thread ${c} is not a candidate (${p.candidates.join(',')})`);
    return c;
  }
}

/** One scheduling point of the last exhaustive run, as the explorer needs it to backtrack. */
interface TrailEntry {
  /** Candidates, the default first, then the others ascending. */
  readonly order: readonly number[];
  readonly chosen: number;
  /** Preemptions spent before this point. */
  readonly spent: number;
  readonly lastRunnable: boolean;
  readonly last: number;
}

/**
 * Iterative stateless DFS over schedules with at most `bound` preemptions. Use:
 *   for (let s = explorer.next(); s; s = explorer.next()) run(s);
 * Each run must drive `s` through every scheduling point of a fresh execution.
 */
export class Explorer {
  private prefix: number[] | null = [];
  private trail: TrailEntry[] = [];
  count = 0;

  constructor(readonly bound: number) {}

  /** The strategy of the next schedule, or null when the tree is exhausted. */
  next(): Strategy | null {
    if (this.count > 0) this.prefix = this.backtrack();
    if (this.prefix === null) return null;
    this.count++;
    this.trail = [];
    const prefix = this.prefix;
    const trail = this.trail;
    let spent = 0;
    return {
      name: 'exhaustive',
      choose: (p: Point): number => {
        const d = defaultChoice(p);
        const order = [d, ...p.candidates.filter((t) => t !== d)];
        const c = prefix[p.step] ?? d;
        if (!order.includes(c)) throw new Error(`exhaustive replay diverged at step ${p.step}`);
        trail.push({ order, chosen: c, spent, lastRunnable: p.lastRunnable, last: p.last });
        if (p.lastRunnable && c !== p.last) spent++;
        return c;
      },
    };
  }

  /** The choices of the last run (for printing). */
  get lastChoices(): number[] {
    return this.trail.map((e) => e.chosen);
  }

  private backtrack(): number[] | null {
    for (let i = this.trail.length - 1; i >= 0; i--) {
      const e = this.trail[i]!;
      const at = e.order.indexOf(e.chosen);
      for (let j = at + 1; j < e.order.length; j++) {
        const c = e.order[j]!;
        const cost = e.lastRunnable && c !== e.last ? 1 : 0;
        if (e.spent + cost <= this.bound) return [...this.trail.slice(0, i).map((t) => t.chosen), c];
      }
    }
    return null;
  }
}
