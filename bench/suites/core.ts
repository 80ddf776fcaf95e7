/**
 * Core suite (issue "Core arena"): the arena's hot path against what it replaces.
 *
 * (a) allocate+release of one cached 32 KiB segment on a warmed-up arena with default
 *     options (scrub on) vs `new ArrayBuffer(32 KiB)` (goal >= 100x) and
 *     `Buffer.allocUnsafe(32 KiB)`; plus, to explain the result, the scrubbing path (the
 *     segment changes lease, so 32 KiB are zeroed) and the floor the protocol sets: the three
 *     seq-cst RMWs of one pair (charge CAS, generation CAS, uncharge), measured alone.
 * (b) aggregate throughput of 2 threads vs 1 (goal >= 1.8x), with a plain Treiber stack as
 *     the same-run baseline (core-threads.ts).
 *
 * Method for (a): tinybench drives the tasks in alternating rounds (A B C … then … C B A);
 * each tinybench iteration times a batch of INNER calls with process.hrtime.bigint() and
 * reports the per-call mean (overriddenDuration), so the timer's own cost is amortised. A
 * round's figure is tinybench's mean over its batches; a row gives the median over rounds and
 * the median of the per-round ratios. Every result is sunk into `sink` / `keep` so no work
 * can be optimised away.
 */
import { Bench, type FnReturnedObject, type Task } from 'tinybench';
import { Arena, type Lease } from '../../src/index.js';
import { median, pairedRatio } from '../stats.js';
import type { BenchRow, Suite, SuiteOptions } from '../types.js';
import { runThreadScaling } from './core-threads.js';

const SEG = 32 * 1024;
/** Calls per tinybench iteration (one timed batch). */
const INNER = 256;

let sink = 0;
const keep: unknown[] = new Array<unknown>(8).fill(null);

function perCall(t0: bigint, calls: number): FnReturnedObject {
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { overriddenDuration: ms / calls, overriddenIterationCost: ms };
}

interface Subject {
  readonly name: string;
  readonly fn: () => FnReturnedObject;
}

function subjects(): { list: Subject[]; close: () => void } {
  // Default options (scrub on); big enough that the thread cache works with full batches.
  const arena = new Arena({ size: '64MiB' });
  const lease = arena.lease({ name: 'bench-a' });
  const other = arena.lease({ name: 'bench-b' });
  const words = new Int32Array(new SharedArrayBuffer(64 * 4));

  const cached = (l: Lease): FnReturnedObject => {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < INNER; k++) {
      const s = l.allocate();
      keep[k & 7] = s;
      l.release(s);
    }
    return perCall(t0, INNER);
  };
  // Two leases take turns: every allocation receives the segment the other lease just
  // released, so bind() zeroes 32 KiB each time (the scrub path). Reported per pair.
  const scrubbed = (): FnReturnedObject => {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < INNER; k += 2) {
      const s = lease.allocate();
      keep[k & 7] = s;
      lease.release(s);
      const t = other.allocate();
      keep[(k + 1) & 7] = t;
      other.release(t);
    }
    return perCall(t0, INNER);
  };
  const arrayBuffer = (): FnReturnedObject => {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < INNER; k++) {
      const b = new ArrayBuffer(SEG);
      keep[k & 7] = b;
      sink ^= b.byteLength;
    }
    return perCall(t0, INNER);
  };
  const allocUnsafe = (): FnReturnedObject => {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < INNER; k++) {
      const b = Buffer.allocUnsafe(SEG);
      keep[k & 7] = b;
      sink ^= b.length;
    }
    return perCall(t0, INNER);
  };
  // The atomics one allocate+release cannot avoid (lease-table.ts charge/uncharge,
  // segment-table.ts bumpGeneration), on three words of separate lines, nothing else.
  const rmw3 = (): FnReturnedObject => {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < INNER; k++) {
      const u = words[0]!;
      Atomics.compareExchange(words, 0, u, u + 1);
      const g = words[16]!;
      Atomics.compareExchange(words, 16, g, (g + 1) | 0);
      Atomics.sub(words, 0, 1);
    }
    sink ^= words[16]!;
    return perCall(t0, INNER);
  };

  return {
    list: [
      { name: 'arena', fn: () => cached(lease) },
      { name: 'arrayBuffer', fn: arrayBuffer },
      { name: 'allocUnsafe', fn: allocUnsafe },
      { name: 'scrubbed', fn: scrubbed },
      { name: 'rmw3', fn: rmw3 },
    ],
    close: () => {
      lease.close();
      other.close();
      const audit = arena.audit();
      arena.close();
      if (!audit.ok) throw new Error(`arena audit failed after the bench: ${audit.problems.join('; ')}`);
    },
  };
}

/** ns per call of each subject, one array entry per round. */
function runRounds(list: readonly Subject[], rounds: number, roundMs: number, log: (s: string) => void): Map<string, number[]> {
  const out = new Map<string, number[]>(list.map((s) => [s.name, []]));
  for (let r = -1; r < rounds; r++) {
    const warm = r < 0; // first round: warm-up, JIT, not recorded
    const bench = new Bench({ time: warm ? roundMs * 2 : roundMs, iterations: 16, warmup: warm, throws: true });
    const order = r % 2 === 0 ? list : [...list].reverse();
    for (const s of order) bench.add(s.name, s.fn, { async: false });
    const tasks: Task[] = bench.runSync();
    if (warm) continue;
    for (const t of tasks) {
      const res = t.result;
      if (res.state !== 'completed') throw new Error(`tinybench task ${t.name}: ${res.state}`);
      out.get(t.name)!.push(res.latency.mean * 1e6);
    }
    log(`single thread: round ${r + 1}/${rounds} done`);
  }
  return out;
}

function singleThreadRows(options: SuiteOptions): BenchRow[] {
  const rounds = options.quick ? 3 : 9;
  const roundMs = options.quick ? 40 : 150;
  const { list, close } = subjects();
  let ns: Map<string, number[]>;
  try {
    // Warm the arena: the thread cache is refilled and the lease's segment bound once.
    for (let k = 0; k < 4; k++) list[0]!.fn();
    ns = runRounds(list, rounds, roundMs, options.log);
  } finally {
    close();
  }
  const get = (name: string): number[] => ns.get(name)!;
  const row = (id: string, subject: string, of: string, baseline: string, against: string, goal: number | null, notes: string[]): BenchRow => {
    const pr = pairedRatio(get(against), get(of)); // time ratio: baseline / subject
    return {
      id,
      baseline,
      ratio: pr.median,
      goal,
      unit: 'ns/op',
      details: { subject, value: median(get(of)), baselineValue: median(get(against)), reps: rounds, ratioMin: pr.min, ratioMax: pr.max, ratios: pr.ratios, reliable: true, notes },
    };
  };
  const floor = median(get('rmw3'));
  return [
    row('core/alloc-release-vs-arraybuffer', 'lease.allocate+release (cached)', 'arena', 'new ArrayBuffer(32 KiB)', 'arrayBuffer', 100, [
      'warm arena, default options (scrub on); the same lease gets its own segment back, so nothing is zeroed',
      `floor set by the protocol's three seq-cst RMWs: ${floor.toFixed(1)} ns, i.e. at most ${(median(get('arrayBuffer')) / floor).toFixed(0)}x here even with no other work`,
    ]),
    row('core/alloc-release-vs-allocunsafe', 'lease.allocate+release (cached)', 'arena', 'Buffer.allocUnsafe(32 KiB)', 'allocUnsafe', null, []),
    row('core/alloc-release-scrubbed-vs-arraybuffer', 'allocate+release, segment changes lease', 'scrubbed', 'new ArrayBuffer(32 KiB)', 'arrayBuffer', null, [
      'two leases take turns, so every allocation zeroes 32 KiB (scrub): what a task pays for a segment another task used',
    ]),
    row('core/rmw-floor-vs-arraybuffer', "3 seq-cst RMWs (a pair's atomics)", 'rmw3', 'new ArrayBuffer(32 KiB)', 'arrayBuffer', null, [
      'charge CAS + generation CAS + uncharge sub, nothing else: the ratio here bounds the first row',
    ]),
  ];
}

export const coreSuite: Suite = {
  name: 'core',
  description: 'allocate+release vs ArrayBuffer (a); 2 threads vs 1, arena vs plain Treiber stack (b)',
  async run(options: SuiteOptions): Promise<BenchRow[]> {
    const rows = singleThreadRows(options);
    rows.push(...(await runThreadScaling(options)));
    if (sink === 0.5) console.log(keep); // never true; keeps sink and keep observable
    return rows;
  },
};
