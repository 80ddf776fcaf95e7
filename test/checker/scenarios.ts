/**
 * What the virtual threads run: a small arena (batch 1, so every refill and flush goes
 * through the central Treiber stack), a few leases with small limits, segments held before the
 * run (every thread rehydrates them from their handles, so threads race to release, transfer
 * or close the same epoch), and one script of operations per thread.
 *
 * Curated scenarios aim at the protocols one by one; random scenarios (drawn from a seed) mix
 * everything, with 2 or 3 threads.
 */
import { prng } from './strategies.js';
import type { Op, Pick } from '../fixtures/checker-protocol.js';

export interface LeaseSpec {
  /** Limit in segments. */
  readonly limit: number;
  /** Segments allocated to it (in the main thread) before the run. */
  readonly pre: number;
  /** Reserved segments (lease option `reserve`), default 0. */
  readonly reserve?: number;
}

export interface Scenario {
  readonly name: string;
  /** Arena size in segments of 4 KiB (4–8). */
  readonly segments: number;
  readonly leases: readonly LeaseSpec[];
  readonly scripts: readonly (readonly Op[])[];
}

const alloc = (lease: number): Op => ({ op: 'alloc', lease });
const many = (lease: number, n: number): Op => ({ op: 'allocMany', lease, n });
const release = (pick: Pick): Op => ({ op: 'release', pick });
const transfer = (pick: Pick, to: number): Op => ({ op: 'transfer', pick, to });
const close = (lease: number): Op => ({ op: 'close', lease });

/**
 * Leases with a reservation (lease option `reserve`) appear in random scenarios only when asked
 * for (`--reservations`): the checker found a bug there in src/core (KNOWN_BUGS), which random
 * scenarios can hit too, and the default runs must show 0 violations until it is fixed.
 */
export interface ScenarioOptions {
  readonly reservations?: boolean;
}

/** Curated 2-thread x 3-operation scenarios (the exhaustive search runs these). */
export const CURATED: readonly Scenario[] = [
  {
    // Treiber ABA: t0's pop reads head X and next Y; t1 pops X and Y, then releases Y and X
    // (LIFO), so its cache flushes X back on top: X is the head again with next ≠ Y.
    name: 'aba',
    segments: 6,
    leases: [{ limit: 4, pre: 0 }],
    scripts: [
      [alloc(0), release('last'), alloc(0)],
      [many(0, 2), release('last'), release('last')],
    ],
  },
  {
    // Two threads charge one lease with limit 1 (one segment held before the run).
    name: 'limit',
    segments: 4,
    leases: [{ limit: 1, pre: 1 }],
    scripts: [
      [release('first'), alloc(0), alloc(0)],
      [alloc(0), alloc(0), release('last')],
    ],
  },
  {
    // close() scans while the other thread allocates on, and releases from, the same lease.
    name: 'close-race',
    segments: 5,
    leases: [{ limit: 3, pre: 1 }, { limit: 2, pre: 0 }],
    scripts: [
      [alloc(0), alloc(1), close(0)],
      [alloc(0), release('first'), alloc(0)],
    ],
  },
  {
    // Both threads hold the same pre-allocated epochs: the GEN CAS decides release vs transfer.
    name: 'gen-race',
    segments: 4,
    leases: [{ limit: 2, pre: 2 }, { limit: 1, pre: 0 }],
    scripts: [
      [release('first'), transfer('last', 1), alloc(1)],
      [transfer('first', 1), release('last'), close(0)],
    ],
  },
];

/**
 * Curated scenarios with more operations (seeded schedules only). aba-deep: the ABA of 'aba'
 * that needs ONE preemption. In 'aba', t1's detach pushes the segment left in its cache on top
 * of the list before t0 can resume, so the ABA needs a second preemption (exhaustive search
 * finds it; PCT only at depth 3); here t1's last allocation empties its cache first.
 */
export const DEEP: readonly Scenario[] = [
  {
    name: 'aba-deep',
    segments: 6,
    leases: [{ limit: 4, pre: 0 }],
    scripts: [
      [alloc(0), release('last'), alloc(0)],
      [many(0, 2), release('last'), release('last'), alloc(0)],
    ],
  },
];

/**
 * Scenarios on which the checker finds a bug in src/core (no mutation switch): a regression
 * test pins each until it is fixed.
 *
 * reserve: a transfer out of a lease with a reservation decides whether the leaving segment
 * must be backed by a general unit (lease.ts drawnBeyondHeld) from USED, the CHARGED count.
 * An allocation on the same lease in another thread that is charged but has not yet drawn or
 * bound counts as held, so the backfill is skipped: the reserved segment leaves with the
 * transfer while RES_USED stays drawn for it. The lease then holds fewer segments than it has
 * drawn; its guarantee shrinks for good (an allocation within the reservation fails with
 * ERR_ARENA_EXHAUSTED) and another lease keeps a reserved segment.
 *
 * Also found, in random scenarios with reservations (seed 36450, random strategy): an
 * allocateMany that fails undoes its reservation draws with restoreReservation() and ignores a
 * false return (lease.ts takeExactly; takeReserved has the same pattern). A concurrent release
 * on that lease had already restored one of those draws (returnToReservation), so the undo drops
 * a unit instead of giving it to W_AVAIL: arena capacity lost, audit() fails, no thread died.
 */
export const KNOWN_BUGS: readonly Scenario[] = [
  {
    // close() vs a transfer out of the closing lease (random-71961, found by the 100 000-schedule
    // run): t2's transfer of L1's segment into L0 passes its checks, t1 closes L1 and frees the
    // segments it allocated, t0 reuses one in L0 and releases it, and t2's transfer then moves
    // its segment out of the closed L1 into the room t0 made. Fixed by the transfer-out pin
    // (lease-table.ts, L_OUT): close() waits for pinned transfers before its mark.
    name: 'close-transfer-out',
    segments: 7,
    leases: [{ limit: 1, pre: 0 }, { limit: 3, pre: 1 }, { limit: 2, pre: 1 }],
    scripts: [
      [alloc(0), release('last'), transfer('first', 1)],
      [many(1, 2), close(1), transfer('last', 2)],
      [transfer('last', 2), transfer('first', 0), release('first')],
    ],
  },
  {
    // Reservations: L0 reserves 2 of 4 segments; L1 takes the general pool, so L0's allocations
    // draw on its reservation, and its transfer out must back the drawn unit with a general one.
    name: 'reserve',
    segments: 4,
    leases: [{ limit: 3, pre: 0, reserve: 2 }, { limit: 3, pre: 0 }],
    scripts: [
      [many(1, 2), alloc(0), release('first')],
      [alloc(0), transfer('last', 1), alloc(0)],
    ],
  },
];

const OPS_PER_THREAD = 3;

/** A random scenario: 2 or 3 threads, 4–8 segments, 1–3 leases, 3 operations each. */
export function randomScenario(seed: number, o: ScenarioOptions = {}): Scenario {
  const r = prng(seed ^ 0x5343454e);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const threads = r() < 0.6 ? 2 : 3;
  const segments = int(4, 8);
  const leaseCount = int(1, 3);
  const leases: LeaseSpec[] = [];
  let taken = 0; // pre-held and reserved segments: at least one stays general
  for (let i = 0; i < leaseCount; i++) {
    const limit = int(1, Math.min(4, segments));
    const pre = Math.max(0, Math.min(int(0, 2), limit, segments - 1 - taken));
    taken += pre;
    const reserve = r() < 0.3 && o.reservations === true ? Math.max(0, Math.min(int(1, 2), limit, segments - 1 - taken)) : 0;
    taken += reserve;
    leases.push(reserve > 0 ? { limit, pre, reserve } : { limit, pre });
  }
  const pick = (): Pick => (r() < 0.5 ? 'first' : 'last');
  const scripts: Op[][] = [];
  for (let t = 0; t < threads; t++) {
    const script: Op[] = [];
    for (let k = 0; k < OPS_PER_THREAD; k++) {
      const x = r();
      const lease = int(0, leaseCount - 1);
      if (x < 0.32) script.push(alloc(lease));
      else if (x < 0.44) script.push(many(lease, int(2, 3)));
      else if (x < 0.72) script.push(release(pick()));
      else if (x < 0.88) script.push(transfer(pick(), int(0, leaseCount - 1)));
      else script.push(close(lease));
    }
    scripts.push(script);
  }
  return { name: `random-${seed >>> 0}${o.reservations === true ? 'r' : ''}`, segments, leases, scripts };
}

const ALL_CURATED = [...CURATED, ...DEEP];

/** The scenario of a seeded schedule: a curated one for one seed in four, a random one otherwise. */
export function scenarioForSeed(seed: number, o: ScenarioOptions = {}): Scenario {
  const u = seed >>> 0;
  return u % 4 === 0 ? ALL_CURATED[(u >>> 2) % ALL_CURATED.length]! : randomScenario(u, o);
}

export function curatedScenario(name: string): Scenario | undefined {
  return [...ALL_CURATED, ...KNOWN_BUGS].find((x) => x.name === name);
}

export function describeScenario(s: Scenario): string {
  const op = (o: Op): string => {
    switch (o.op) {
      case 'alloc': return `alloc(L${o.lease})`;
      case 'allocMany': return `allocMany(L${o.lease},${o.n})`;
      case 'release': return `release(${o.pick})`;
      case 'transfer': return `transfer(${o.pick}→L${o.to})`;
      case 'close': return `close(L${o.lease})`;
    }
  };
  const leases = s.leases.map((l, i) => `L${i}{limit ${l.limit}, pre ${l.pre}${l.reserve ? `, reserve ${l.reserve}` : ''}}`).join(' ');
  const threads = s.scripts.map((sc, t) => `  t${t}: ${sc.map(op).join(', ')}, detach`).join('\n');
  return `scenario ${s.name}: ${s.segments} segments x 4 KiB, ${leases}\n${threads}`;
}
