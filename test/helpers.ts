import { expect } from 'vitest';
import type { Arena, ArenaError } from '../src/index.js';

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
