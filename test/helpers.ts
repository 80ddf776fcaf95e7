import { afterEach, expect } from 'vitest';
import { Arena, type ArenaError, type ArenaOptions } from '../src/index.js';

/** The error code `f` throws, or undefined if it returns. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as ArenaError).code ?? `not an ArenaError: ${String(e)}`;
  }
  return undefined;
}

/** The error code a promise rejects with. */
export async function rejectionCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as ArenaError).code ?? `not an ArenaError: ${String(e)}`;
  }
  return undefined;
}

/** Assert the arena is consistent, printing the problems if not. */
export function expectAuditOk(arena: Arena): void {
  const report = arena.audit();
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<ArenaError & { cause?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as ArenaError;
  }
  throw new Error('expected a rejection');
}

/**
 * A factory of arenas that are all closed after each test of the calling file (call it once at
 * the top level of a test file). `track` registers an arena made elsewhere (Arena.attach).
 */
export function arenasClosedAfterEach(defaults: ArenaOptions): { arena: (o?: ArenaOptions) => Arena; track: (a: Arena) => Arena } {
  let open: Arena[] = [];
  afterEach(() => {
    for (const a of open) a.close();
    open = [];
  });
  const track = (a: Arena): Arena => {
    open.push(a);
    return a;
  };
  return { arena: (o = defaults) => track(new Arena(o)), track };
}
