/**
 * Worker of the scaling suite (bench/suites/scaling.ts, thread-rig.ts). Loaded as built JavaScript
 * (dist/bench/workers/core-worker.js; Node 20 cannot start a .ts worker), so it imports the
 * built library through its public entry point.
 *
 * At start it attaches to the arena and opens its own lease. For each `run` message it
 * reports `armed`, blocks until CTRL_GO names its round, then loops on allocate+release
 * (or pop+push on the Treiber stack) until CTRL_STOP names the round, and reports the ops
 * it did and the length of its own window. The main thread sleeps meanwhile, so the active
 * workers have the machine's cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, type MemorySegment } from '../../src/index.js';
import { CTRL_GO, CTRL_STOP, GAP_MS, type FromWorker, type ToWorker, type WorkMode, type WorkerInit } from './protocol.js';
import { TreiberStack } from './treiber.js';

/** Ops between two polls of CTRL_STOP (one Atomics.load per this many ops). */
const POLL_EVERY = 256;

const port = parentPort;
if (port === null) throw new Error('core-worker must run as a worker thread');
const init = workerData as WorkerInit;
const arena = Arena.attach(init.arena);
const lease = arena.lease({ name: `bench-worker-${init.id}` });
const stack = new TreiberStack(init.treiber);
const ctrl = new Int32Array(init.control);

function send(m: FromWorker): void {
  port!.postMessage(m);
}

function waitForGo(round: number): void {
  for (;;) {
    const g = Atomics.load(ctrl, CTRL_GO);
    if (g === round) return;
    Atomics.wait(ctrl, CTRL_GO, g, 1000);
  }
}

/** One measured window: ops done, its length, and how much of it the thread was off-CPU. */
interface Window {
  ops: number;
  ns: number;
  offCpuNs: number;
}

/** Called at every poll: accumulates poll intervals longer than GAP_MS as off-CPU time. */
class GapMeter {
  private last = performance.now();
  offMs = 0;
  tick(): void {
    const now = performance.now();
    if (now - this.last > GAP_MS) this.offMs += now - this.last;
    this.last = now;
  }
}

/**
 * Hold `hold` segments at peak: each op allocates one and releases the oldest (FIFO), so
 * hold = 1 is allocate-then-release of the same segment.
 */
function loopArena(round: number, hold: number): Window {
  const ring = new Array<MemorySegment>(hold);
  for (let k = 0; k < hold - 1; k++) ring[k] = lease.allocate();
  let w = hold - 1;
  let r = 0;
  let ops = 0;
  const gaps = new GapMeter();
  const t0 = process.hrtime.bigint();
  for (;;) {
    for (let j = 0; j < POLL_EVERY; j++) {
      ring[w] = lease.allocate();
      w = w + 1 === hold ? 0 : w + 1;
      lease.release(ring[r]!);
      r = r + 1 === hold ? 0 : r + 1;
    }
    ops += POLL_EVERY;
    gaps.tick();
    if (Atomics.load(ctrl, CTRL_STOP) === round) break;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  for (let k = 0; k < hold - 1; k++) {
    lease.release(ring[r]!);
    r = r + 1 === hold ? 0 : r + 1;
  }
  return { ops, ns, offCpuNs: gaps.offMs * 1e6 };
}

/**
 * The same access pattern on the shared Treiber stack (node indices instead of segments).
 * Deliberately a copy of loopArena, not a shared loop taking callbacks: each measured loop must
 * stay monomorphic, and an indirect call per operation would distort the comparison.
 */
function loopTreiber(round: number, hold: number): Window {
  const ring = new Int32Array(hold);
  for (let k = 0; k < hold - 1; k++) ring[k] = stack.pop();
  let w = hold - 1;
  let r = 0;
  let ops = 0;
  const gaps = new GapMeter();
  const t0 = process.hrtime.bigint();
  for (;;) {
    for (let j = 0; j < POLL_EVERY; j++) {
      ring[w] = stack.pop();
      w = w + 1 === hold ? 0 : w + 1;
      stack.push(ring[r]!);
      r = r + 1 === hold ? 0 : r + 1;
    }
    ops += POLL_EVERY;
    gaps.tick();
    if (Atomics.load(ctrl, CTRL_STOP) === round) break;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  for (let k = 0; k < hold - 1; k++) {
    stack.push(ring[r]!);
    r = r + 1 === hold ? 0 : r + 1;
  }
  return { ops, ns, offCpuNs: gaps.offMs * 1e6 };
}

let probeSink = 0;

/** A private ALU loop: no memory shared, no allocation; its 2T/1T ratio is the machine's. */
function loopCompute(round: number): Window {
  let x = probeSink | 1;
  let ops = 0;
  const gaps = new GapMeter();
  const t0 = process.hrtime.bigint();
  for (;;) {
    for (let j = 0; j < POLL_EVERY * 16; j++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    ops += POLL_EVERY * 16;
    gaps.tick();
    if (Atomics.load(ctrl, CTRL_STOP) === round) break;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  probeSink = x;
  return { ops, ns, offCpuNs: gaps.offMs * 1e6 };
}

function run(round: number, mode: WorkMode, hold: number): void {
  send({ type: 'armed', round });
  waitForGo(round);
  stack.retries = 0;
  const { ops, ns, offCpuNs } =
    mode === 'arena' ? loopArena(round, hold) : mode === 'treiber' ? loopTreiber(round, hold) : loopCompute(round);
  send({ type: 'result', round, ops, ns, retries: stack.retries, offCpuNs });
}

port.on('message', (m: ToWorker) => {
  try {
    if (m.type === 'run') run(m.round, m.mode, m.hold);
    else {
      lease.close();
      arena.close();
      port.close();
    }
  } catch (e) {
    send({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
});
send({ type: 'ready' });
