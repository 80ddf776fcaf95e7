/**
 * Fuzzing every public call of the core with bad arguments (issue 5, "Reliability", Fuzzing).
 *
 * The property: random sequences mix valid calls (so the arenas have live leases and
 * segments, stamped bytes, released and transferred segments, a closed lease, a closed arena)
 * with calls whose arguments are wrong in every way the issue names — wrong types (undefined,
 * null, strings, objects, arrays, functions, symbols, bigint), NaN, ±Infinity, negative,
 * fractional, huge (2**53, 1e308), -0, stale handles, segments of another lease or arena, closed
 * leases and arenas, malformed or foreign descriptors, bad option objects, bad typed-array
 * constructors, bad buffers, bad copy and fill ranges, bad allocateAsync counts and options.
 * For every call (test/fuzz/exec.ts):
 *   - only an ArenaError with a code of DESIGN §5 that fits the call comes out (never a V8
 *     TypeError/RangeError, never ERR_INTERNAL), and a valid call succeeds;
 *   - afterwards the world matches the model: audit() ok (its problems are printed), every
 *     lease's used, stats().allocated, every segment's released flag and bytes; a call that
 *     failed on its arguments changed nothing at all (not even free/cached counts or a peak).
 *
 * Environment: FUZZ_RUNS (default 10000) sequences; FUZZ_SEED (and FUZZ_PATH) replay a failure,
 * whose message prints both; FUZZ_KNOWN_BUGS=1 stops skipping the inputs of the bugs pinned
 * below, so the property finds them again; FUZZ_VERBOSE=1 prints how often each call met each
 * outcome.
 *
 * Bugs in src/ this fuzzer found are pinned at the end, each as an `it.fails` with its minimal
 * input run through the same checker; the property skips exactly those inputs (exec.ts,
 * knownBug) until they are fixed. When a pinned test starts failing, the bug is fixed: drop
 * its `it.fails` and its entry in KNOWN_BUGS.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Arena, isArenaError } from '../src/index.js';
import { script, type Command } from './fuzz/commands.js';
import { KNOWN_BUGS, newStats, runCommand, type BugId, type RunStats } from './fuzz/exec.js';
import { SEG } from './fuzz/values.js';
import { FuzzFailure, buildWorld, teardown, verify } from './fuzz/world.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED === undefined ? (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0 : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;
// Every bug this fuzzer found is fixed in src/: nothing is skipped any more.
const SHOW_BUGS = true;
const VERBOSE = process.env.FUZZ_VERBOSE === '1';

/** Run one script against a fresh world: the body of the property, and of every pinned bug. */
async function runScript(cmds: readonly Command[], stats: RunStats, showBugs: boolean): Promise<void> {
  const w = buildWorld();
  const ctx = { w, stats, showBugs };
  try {
    verify(w, 'setup');
    for (let k = 0; k < cmds.length; k++) await runCommand(ctx, cmds[k]!, k);
  } finally {
    teardown(w);
  }
  for (const name of ['A', 'B', 'C'] as const) {
    const report = w.arenas[name].creator.audit();
    if (!report.ok) throw new FuzzFailure(`after closing everything: arena ${name} audit failed:\n  ${report.problems.join('\n  ')}`);
  }
}

/** fc.check with the seed and a replay line in the failure message. */
async function check<T>(prop: fc.IAsyncProperty<T>, numRuns: number, name: string): Promise<void> {
  const out = await fc.check(prop, { numRuns, seed: SEED, ...(PATH === undefined ? {} : { path: PATH, endOnFailure: true }) });
  if (out.failed) {
    const replay = `replay: FUZZ_SEED=${out.seed} FUZZ_PATH=${out.counterexamplePath ?? ''} npx vitest run test/fuzz.test.ts -t '${name}'`;
    const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    throw new Error(`${replay}\n${fc.defaultReportMessage(out) ?? 'property failed'}\n\nFailure:\n${cause}`);
  }
}

describe('fuzz: every public call of the core with bad arguments', () => {
  const stats = newStats();
  let runs = 0;

  afterAll(() => {
    const skipped = [...stats.skipped].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
    console.log(
      `fuzz: seed ${SEED}, ${runs} sequences, ${stats.total} calls (${stats.errors} threw an ArenaError), ` +
        `${stats.calls.size} kinds of call; skipped inputs: ${skipped}`,
    );
    if (VERBOSE) for (const [k, n] of [...stats.outcomes].sort()) console.log(`  ${k}: ${n}`);
  });

  it(`only documented ArenaErrors, valid calls succeed, nothing changes on error, audit ok (${RUNS} sequences)`, async () => {
    const name = 'only documented ArenaErrors';
    await check(
      fc.asyncProperty(script, async (cmds) => {
        // The runs chain microtasks only: let the worker's own I/O (vitest's RPC) through now and then.
        if (++runs % 256 === 0) await nextMacrotask();
        await runScript(cmds, stats, SHOW_BUGS);
      }),
      RUNS,
      name,
    );
    // Every call was reached, and bad calls were the bulk of the work.
    expect([...stats.calls.keys()].sort()).toEqual(
      [
        'allocate', 'allocateAsync', 'allocateMany', 'as', 'attach', 'attachLease', 'audit', 'closeArena', 'closeLease', 'copyTo',
        'fill', 'get', 'lease', 'newArena', 'parseByteSize', 'props', 'read', 'release', 'segment', 'set', 'stats', 'transfer',
        'tryAllocate', 'write',
      ].filter((c) => RUNS >= 1000 || stats.calls.has(c)),
    );
    if (RUNS >= 10_000) expect(stats.errors).toBeGreaterThanOrEqual(10_000);
  }, Math.max(60_000, RUNS * 20));

  it('allocateAsync honours timeout and signal while it waits on an exhausted arena', async () => {
    const timeouts = fc.oneof(fc.constantFrom(0, 1, 5, 15, 1000, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 1e308), fc.integer({ min: 0, max: 15 }));
    let skipped = 0;
    await check(
      fc.asyncProperty(timeouts, async (timeout) => {
        if (timeout > 2 ** 31 - 1 && !SHOW_BUGS) {
          skipped++; // BUG: async-timeout-overflow, pinned below
          return;
        }
        const arena = new Arena({ size: 2 * SEG, segmentSize: SEG });
        try {
          const hog = arena.lease();
          hog.allocateMany(2);
          const lease = arena.lease({ limit: SEG });
          const ac = new AbortController();
          const t0 = performance.now();
          const p = lease.allocateAsync(1, { timeout, signal: ac.signal }).then(
            () => 'resolved',
            (e: unknown) => (isArenaError(e) ? e.code : `non-ArenaError: ${String(e)}`),
          );
          const WINDOW = 40;
          let timer: ReturnType<typeof setTimeout> | undefined;
          const first = await Promise.race([p, new Promise<string>((r) => (timer = setTimeout(() => r('pending'), WINDOW)))]);
          clearTimeout(timer);
          const elapsed = performance.now() - t0;
          if (timeout <= 15) {
            expect(first, `timeout ${timeout}`).toBe('ERR_TIMEOUT');
            expect(elapsed, `timeout ${timeout} fired early`).toBeGreaterThanOrEqual(timeout - 1);
          } else if (first === 'pending') {
            ac.abort('done');
            expect(await p).toBe('ERR_ABORTED');
          } else {
            // A timeout the platform cannot honour may be refused, but never cut short.
            expect(first, `timeout ${timeout} after ${elapsed.toFixed(1)} ms`).toBe('ERR_INVALID_ARGUMENT');
          }
          expect(lease.used).toBe(0);
          expect(arena.stats().allocated).toBe(2);
          const report = arena.audit();
          expect(report.problems).toEqual([]);
        } finally {
          arena.close();
        }
      }),
      25,
      'allocateAsync honours timeout',
    );
    if (skipped > 0) console.log(`fuzz: allocateAsync timeouts: ${skipped} inputs skipped (BUG async-timeout-overflow)`);
  });
});

// ---- bugs found in src/, pinned --------------------------------------------------------------

/**
 * A pinned bug: the minimal script, run with the known-bug filter off, must fail with the
 * symptom. It.fails keeps the suite green while the bug exists; a failure for another reason is
 * not accepted as the bug (the test then fails, so it gets looked at).
 */
function pinned(bug: BugId | 'attach-slot-leak', title: string, symptom: RegExp, body: () => Promise<void>): void {
  // Fixed: the minimal script must now pass (`symptom` is what it showed while the bug lived).
  it(`regression ${bug} (fixed): ${title} [was: ${symptom.source}]`, body);
}
const pinScript = (cmds: readonly Command[]) => () => runScript(cmds, newStats(), true);
const live0 = { k: 'live', i: 0 } as const;

describe('bugs found by the fuzzer (fixed; each minimal input kept as a regression)', () => {
  it('every known bug is pinned here', () => {
    expect(Object.keys(KNOWN_BUGS).sort()).toEqual(['as-ctor', 'async-timeout-overflow', 'attach-mismatch', 'detached-buffer', 'forged-object', 'lease-name-coercion', 'offset-coercion', 'phantom-lease']);
  });

  pinned('offset-coercion', 'segment.getUint8(1n) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'get', s: live0, m: 'getUint8', off: 1n },
  ]));
  pinned('offset-coercion', 'segment.copyTo(0, other, Symbol(), 1) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'copyTo', s: live0, off: 0, t: { k: 'live', i: 1 }, toff: Symbol('x'), len: 1 },
  ]));

  pinned('attach-mismatch', 'Arena.attach with a control buffer of 3 bytes throws a RangeError', /non-ArenaError escaped: RangeError/, pinScript([
    { c: 'attach', d: { k: 'mut', a: 'A', field: 'control', m: { k: 'sab', bytes: 3 } } },
  ]));
  pinned('attach-mismatch', "Arena.attach with A's control and B's (smaller) data throws a RangeError", /non-ArenaError escaped: RangeError/, pinScript([
    { c: 'attach', d: { k: 'mut', a: 'A', field: 'data', m: { k: 'other' } } },
  ]));
  pinned('attach-mismatch', "Arena.attach with B's control and A's (larger) data attaches to the wrong memory", /succeeded .* but must throw/, pinScript([
    { c: 'attach', d: { k: 'mut', a: 'B', field: 'data', m: { k: 'other' } } },
  ]));
  pinned('attach-slot-leak', 'a failed Arena.attach leaks its thread slot (state changed on error)', /ERR_TOO_MANY_LEASES/, async () => {
    const arena = new Arena({ size: 2 * SEG, segmentSize: SEG, maxThreads: 2 });
    const other = new Arena({ size: SEG, segmentSize: SEG });
    try {
      for (let k = 0; k < 2; k++) {
        try {
          Arena.attach({ ...arena.descriptor, data: other.descriptor.data });
        } catch {
          // the RangeError of attach-mismatch
        }
      }
      Arena.attach(arena.descriptor).close(); // one creator + one attach: within maxThreads = 2
    } catch (e) {
      throw new Error(`the arena has no thread slot left: ${isArenaError(e) ? e.code : String(e)}`);
    } finally {
      other.close();
      arena.close();
    }
  });

  pinned('lease-name-coercion', "arena.attachLease({ ...descriptorOfAnotherArena'sLease, name: Symbol() }) throws a TypeError", /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'attachLease', a: 'A', d: { k: 'mut', i: 4, field: 'name', m: { k: 'value', v: Symbol('x') } } },
  ]));
  pinned('phantom-lease', 'arena.attachLease of uid 0 on a never-used slot returns a Lease', /succeeded .* but must throw/, async () => {
    // Whichever slot A has not used yet: try them all (each attempt must throw).
    await pinScript(Array.from({ length: 6 }, (_, slot): Command => ({ c: 'attachLease', a: 'A', d: { k: 'phantom', slot } })))();
  });

  pinned('as-ctor', 'segment.as(class extends Uint8Array { BYTES_PER_ELEMENT = 0 }) throws a RangeError', /non-ArenaError escaped: RangeError/, pinScript([
    { c: 'as', s: live0, ctor: { k: 'lying', base: 'Uint8Array', bpe: 0 } },
  ]));
  pinned('as-ctor', 'segment.as(class extends Float64Array { BYTES_PER_ELEMENT = 1 }) is not a view of exactly this segment', /succeeded|not a view of exactly this segment|RangeError/, pinScript([
    { c: 'as', s: live0, ctor: { k: 'lying', base: 'Float64Array', bpe: 1 } },
  ]));
  pinned('as-ctor', 'segment 0 .as(class extends Float64Array { BYTES_PER_ELEMENT = 1 }) views 8 segments (other memory)', /views 32768 bytes/, async () => {
    const arena = new Arena({ size: 16 * SEG, segmentSize: SEG });
    try {
      const seg = arena.lease().allocateMany(16).find((s) => s.index === 0)!;
      const Lying = class extends Float64Array {};
      Object.defineProperty(Lying, 'BYTES_PER_ELEMENT', { value: 1 });
      let view: Float64Array;
      try {
        view = seg.as(Lying);
      } catch (e) {
        if (isArenaError(e) && e.code === 'ERR_INVALID_ARGUMENT') return; // fixed
        throw e;
      }
      if (view.byteLength !== SEG) throw new Error(`as() of a ${SEG}-byte segment views ${view.byteLength} bytes`);
    } finally {
      arena.close();
    }
  });
  pinned('as-ctor', 'segment.as(Object.assign(function Plain() {}, { BYTES_PER_ELEMENT: 8 })) returns a non-view', /succeeded .* but must throw/, pinScript([
    { c: 'as', s: live0, ctor: { k: 'other', what: 'fnBpe' } },
  ]));
  pinned('as-ctor', 'segment.as(Object.assign(() => 0, { BYTES_PER_ELEMENT: 8 })) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'as', s: live0, ctor: { k: 'other', what: 'arrowBpe' } },
  ]));

  pinned('detached-buffer', 'segment.read(0, a detached Uint8Array) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'read', s: live0, off: 0, b: { k: 'kind', what: 'detached' } },
  ]));
  pinned('detached-buffer', 'segment.write(0, a detached Uint8Array) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'write', s: live0, off: 0, b: { k: 'kind', what: 'detached' } },
  ]));

  pinned('forged-object', 'lease.release(Object.create(MemorySegment.prototype)) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'release', l: 'owner', s: { k: 'forged' } },
  ]));
  pinned('forged-object', 'lease.transfer(segment, Object.create(Lease.prototype)) throws a TypeError', /non-ArenaError escaped: TypeError/, pinScript([
    { c: 'transfer', l: 'owner', s: live0, to: { k: 'forged' } },
  ]));

  pinned('async-timeout-overflow', 'allocateAsync(1, { timeout: 2 ** 31 }) times out after ~1 ms', /ERR_TIMEOUT after/, async () => {
    const arena = new Arena({ size: SEG, segmentSize: SEG });
    try {
      arena.lease().allocate();
      const ac = new AbortController();
      const t0 = performance.now();
      const p = arena.lease().allocateAsync(1, { timeout: 2 ** 31, signal: ac.signal }).catch((e: unknown) => e);
      const first = await Promise.race([p, new Promise((r) => setTimeout(() => r('pending'), 40))]);
      if (first !== 'pending') {
        const code = isArenaError(first) ? first.code : String(first);
        if (code !== 'ERR_INVALID_ARGUMENT') throw new Error(`${code} after ${(performance.now() - t0).toFixed(1)} ms, not pending`);
      }
      ac.abort();
      await p;
    } finally {
      arena.close();
    }
  });
});
