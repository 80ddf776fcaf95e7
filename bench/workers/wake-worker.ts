/**
 * Worker of the wake suite (bench/suites/wake.ts). Loaded as built JavaScript
 * (dist/bench/workers/wake-worker.js), so it imports the built library's public entry point.
 *
 * Two of these run: an initiator and an echo. A round trip is two legs, each "one thread
 * waits, the other wakes it":
 *
 *   allocateAsync (the subject). Two arenas of `trips` segments; at the start of a rep the
 *   initiator holds every segment of arena G ("give") and the echo every segment of arena W.
 *   Both arenas are exhausted, so an allocateAsync on either waits. Trip k:
 *     initiator: arm `allocateAsync()` on W, release one G segment, await the W segment;
 *     echo:      (armed on G) wakes with the G segment, arms its next wait on G, releases one
 *                W segment, which wakes the initiator.
 *   Each thread arms its wait BEFORE it releases, and waits on the arena it does not release
 *   into: so it can never take back its own segment, and the other thread always finds a
 *   waiter (a release with nobody waiting would go to the releaser's private cache and wake
 *   no one). After a rep the holdings have swapped, so the next rep runs with G and W swapped.
 *   Each thread has its own lease on each arena. The arenas are made with `scrub: false`, so
 *   no segment is zeroed on the way: the row measures waking, the scrub suite zeroing.
 *
 *   waitAsync / wait (baselines). Trip k: the initiator stores k into PING and notifies; the
 *   echo, waiting on PING (Atomics.waitAsync + await, or blocking Atomics.wait), wakes, stores
 *   k into PONG and notifies; the initiator, waiting on PONG the same way, wakes.
 *
 * The initiator times every round trip with process.hrtime.bigint() and sends the times.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Arena, type Lease, type MemorySegment } from '../../src/index.js';
import { WAKE_PING, WAKE_PONG, type FromWakeWorker, type ToWakeWorker, type WakeKind, type WakeInit } from './wake-protocol.js';

const port = parentPort;
if (port === null) throw new Error('wake-worker must run as a worker thread');
const init = workerData as WakeInit;
const arenas = [Arena.attach(init.arenas[0]), Arena.attach(init.arenas[1])] as const;
const leases: readonly [Lease, Lease] = [arenas[0].attachLease(init.leases[0]), arenas[1].attachLease(init.leases[1])];
const held: [MemorySegment[], MemorySegment[]] = [[], []];
const ctrl = new Int32Array(init.control);

function send(m: FromWakeWorker): void {
  port!.postMessage(m);
}

function fill(a: 0 | 1): void {
  const lease = leases[a];
  for (;;) {
    const s = lease.tryAllocate();
    if (s === null) break;
    held[a].push(s);
  }
  send({ type: 'filled', held: held[a].length });
}

function take(a: 0 | 1): MemorySegment {
  const s = held[a].pop();
  if (s === undefined) throw new Error(`wake-worker (${init.role}): holds no segment of arena ${a} to release`);
  return s;
}

async function initiatorAlloc(trips: number, give: 0 | 1): Promise<number[]> {
  const wait: 0 | 1 = give === 0 ? 1 : 0;
  const g = leases[give];
  const w = leases[wait];
  const ns = new Array<number>(trips);
  for (let k = 0; k < trips; k++) {
    const t0 = process.hrtime.bigint();
    const pending = w.allocateAsync(1);
    g.release(take(give));
    const [s] = await pending;
    held[wait].push(s!);
    ns[k] = Number(process.hrtime.bigint() - t0);
  }
  return ns;
}

async function echoAlloc(round: number, trips: number, give: 0 | 1): Promise<void> {
  const wait: 0 | 1 = give === 0 ? 1 : 0;
  const g = leases[give];
  const w = leases[wait];
  let pending = w.allocateAsync(1);
  send({ type: 'armed', round });
  for (let k = 0; k < trips; k++) {
    const [s] = await pending;
    held[wait].push(s!);
    if (k + 1 < trips) pending = w.allocateAsync(1);
    g.release(take(give));
  }
}

/** Wait until ctrl[i] differs from `seen`, the way `kind` waits. */
async function waitWord(kind: WakeKind, i: number, seen: number): Promise<void> {
  while (Atomics.load(ctrl, i) === seen) {
    if (kind === 'wait') {
      Atomics.wait(ctrl, i, seen);
    } else {
      const r = Atomics.waitAsync(ctrl, i, seen);
      if (r.async) await r.value;
    }
  }
}

async function initiatorRaw(kind: WakeKind, trips: number): Promise<number[]> {
  const ns = new Array<number>(trips);
  for (let k = 1; k <= trips; k++) {
    const t0 = process.hrtime.bigint();
    Atomics.store(ctrl, WAKE_PING, k);
    Atomics.notify(ctrl, WAKE_PING);
    await waitWord(kind, WAKE_PONG, k - 1);
    ns[k - 1] = Number(process.hrtime.bigint() - t0);
  }
  return ns;
}

async function echoRaw(kind: WakeKind, round: number, trips: number): Promise<void> {
  send({ type: 'armed', round });
  for (let k = 1; k <= trips; k++) {
    await waitWord(kind, WAKE_PING, k - 1);
    Atomics.store(ctrl, WAKE_PONG, k);
    Atomics.notify(ctrl, WAKE_PONG);
  }
}

async function run(m: Extract<ToWakeWorker, { type: 'run' }>): Promise<void> {
  if (init.role === 'initiator') {
    const ns = m.kind === 'allocateAsync' ? await initiatorAlloc(m.trips, m.give) : await initiatorRaw(m.kind, m.trips);
    send({ type: 'result', round: m.round, ns });
  } else {
    if (m.kind === 'allocateAsync') await echoAlloc(m.round, m.trips, m.give);
    else await echoRaw(m.kind, m.round, m.trips);
    send({ type: 'done', round: m.round });
  }
}

function fail(e: unknown): void {
  send({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}

port.on('message', (m: ToWakeWorker) => {
  try {
    if (m.type === 'fill') fill(m.arena);
    else if (m.type === 'run') run(m).catch(fail);
    else {
      for (const a of [0, 1] as const) {
        if (held[a].length > 0) leases[a].release(held[a].splice(0));
        arenas[a].close();
      }
      port.close();
    }
  } catch (e) {
    fail(e);
  }
});
send({ type: 'ready' });
