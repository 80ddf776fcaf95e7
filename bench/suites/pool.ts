/**
 * Helpers shared by the TaskManager suites (dispatch.ts, handoff.ts, parallel-sum.ts): where the
 * built workers are, an absolute clock comparable across threads, alternating reps, and the
 * (rows come from ../rows.ts). Not a suite itself (pool-index.ts lists the suites).
 */

/** The bench workers, built by `npm run build` (Node 20 cannot start a .ts worker). */
export const WORKERS = new URL('../../dist/bench/workers/', import.meta.url);

export const MiB = 2 ** 20;

/** Absolute time in ms (performance.timeOrigin + now()): comparable across threads of one process. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * Run `steps` of one rep in alternating order: as given on even reps, reversed on odd ones
 * (A B C, then C B A), so no subject always runs first or right after the same neighbour.
 */
export async function alternate(rep: number, steps: readonly (() => Promise<void>)[]): Promise<void> {
  const order = rep % 2 === 0 ? steps : [...steps].reverse();
  for (const step of order) await step();
}

