/**
 * Configuration of a stress run: the full run (`npm run stress`), the quick one (`--quick`) and
 * the CI test (test/stress.test.ts) differ only in these numbers.
 */

/** One arena shape. A run alternates between profiles, one TaskManager per epoch. */
export interface ArenaProfile {
  readonly name: string;
  readonly arena: {
    readonly size: string;
    readonly maxSize: string;
    readonly segmentSize: number;
    /** Test-only sabotage, to show the stress bites: scrub off must show up as violations. */
    readonly scrub?: boolean;
    /** Test-only sabotage: the central free list without its ABA tag. */
    readonly unsafeDisableAbaTag?: boolean;
  };
  readonly slotMemory: string;
}

export interface StressConfig {
  /** Master seed: fixes the mix of rounds, tasks and operations (not the thread interleaving). */
  readonly seed: number;
  /** Run rounds until this many milliseconds passed (at least minRounds). */
  readonly durationMs: number;
  readonly minRounds: number;
  readonly maxRounds: number;
  /** After minRounds, keep going (up to maxRounds) until every kill kind was seen at least once. */
  readonly untilEveryKill: boolean;
  /** Arena shapes, taken in turn, `roundsPerEpoch` rounds each (a new TaskManager per epoch). */
  readonly profiles: readonly ArenaProfile[];
  readonly roundsPerEpoch: number;
  /** Tasks per round. */
  readonly tasksPerRound: number;
  /**
   * Every this many rounds, a gentle round: only deaths between arena calls (exit, timer), no
   * aborts, so the audit must be clean without repair (0: never).
   */
  readonly gentleEvery: number;
  /** Put one task of every dying kind into each round (besides the random mix). */
  readonly everyDeathEachRound: boolean;
  /** Scales the operation budgets of bounded tasks. */
  readonly opsScale: number;
  /** How long a round may take before it counts as hung (a violation). */
  readonly roundTimeoutMs: number;
  readonly slots: number;
  readonly concurrentTasksPerSlot: number;
  readonly slotHeap: string;
  readonly abortGrace: number;
  /** Soak: print a line every this many ms (0: no soak lines) and judge RSS/arena at the end. */
  readonly soakEveryMs: number;
}

/**
 * large: 2048 segments growing to 3072, thread caches of 64 (batches of 32): the cached hot path,
 *        growth, and pressure from a main-thread hog.
 * small: 64 segments growing to 96, batches of 1: every cache miss and flush is a central-list
 *        operation, and the arena is exhausted all the time.
 */
export const PROFILES: readonly ArenaProfile[] = [
  { name: 'large', arena: { size: '8MiB', maxSize: '12MiB', segmentSize: 4096 }, slotMemory: '1MiB' },
  { name: 'small', arena: { size: '256KiB', maxSize: '384KiB', segmentSize: 4096 }, slotMemory: '64KiB' },
];

export const FULL: Omit<StressConfig, 'seed' | 'durationMs'> = {
  minRounds: 1,
  maxRounds: Infinity,
  untilEveryKill: false,
  profiles: PROFILES,
  roundsPerEpoch: 20,
  tasksPerRound: 32,
  gentleEvery: 4,
  everyDeathEachRound: false,
  opsScale: 1,
  roundTimeoutMs: 120_000,
  slots: 3,
  concurrentTasksPerSlot: 2,
  slotHeap: '48MiB',
  abortGrace: 40,
  soakEveryMs: 0,
};

/** `--quick`, and the CI test: small rounds, every death in every round, both profiles. */
export const QUICK: Omit<StressConfig, 'seed' | 'durationMs'> = {
  ...FULL,
  minRounds: 4,
  maxRounds: 12,
  untilEveryKill: true,
  roundsPerEpoch: 2,
  tasksPerRound: 18,
  everyDeathEachRound: true,
  opsScale: 0.25,
  roundTimeoutMs: 30_000,
};
