/**
 * The threaded rig of the scaling suite: persistent workers (one per CPU, at least two)
 * attached to one arena (each with its own lease) and to the bench's Treiber stack, driven in
 * timed rounds.
 *
 * A round: the main thread arms n of the workers, releases them at once through a shared GO
 * word, sleeps for the window (so the workers have the cores), then raises STOP. Each worker
 * times its own window; the round's throughput is the sum of ops/window over the active
 * workers. When n is below the number of workers, which ones run rotates from round to round.
 *
 * Disturbance: other processes (builds, test runs) take a core at times. Then a "2-thread"
 * round measures time slicing, not scaling (the Treiber baseline shows it: no failed CAS at
 * all), and a 1-thread round that lost its core inflates the ratio. So every round reports
 * `onCpu`, the worst of three views of whether each active worker had its core: the worker's
 * own poll gaps (intervals longer than GAP_MS), the process's CPU time against (active
 * workers x window) — short preemptions leave no gap but cost CPU time — and the
 * hypervisor's steal time from /proc/stat. It looks only at scheduling, never at throughput.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Arena } from '../../src/index.js';
import { CTRL_GO, CTRL_STOP, CTRL_WORDS, type FromWorker, type ToWorker, type WorkMode, type WorkerInit } from '../workers/protocol.js';
import { TreiberStack } from '../workers/treiber.js';

const WORKER_URL = new URL('../../dist/bench/workers/core-worker.js', import.meta.url);
const TREIBER_NODES = 1024;

/**
 * Per-CPU jiffies from /proc/stat (Linux): steal is time the hypervisor ran something else
 * on our virtual CPU, which slows a thread without any gap it could see. [] elsewhere.
 */
function cpuTimes(): Array<{ steal: number; total: number }> {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ steal: number; total: number }> = [];
  for (const line of text.split('\n')) {
    if (!/^cpu\d/.test(line)) continue;
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number); // user … steal
    out.push({ steal: f[7] ?? 0, total: f.reduce((a, b) => a + b, 0) });
  }
  return out;
}

/** Largest share of any CPU's time stolen by the hypervisor between two cpuTimes(). */
function maxSteal(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>): number {
  let worst = 0;
  for (let c = 0; c < Math.min(before.length, after.length); c++) {
    const total = after[c]!.total - before[c]!.total;
    if (total > 0) worst = Math.max(worst, (after[c]!.steal - before[c]!.steal) / total);
  }
  return worst;
}

/**
 * One worker and the messages it sent that nobody has taken yet. Generic over the worker's
 * protocol; a message `{ type: 'error', message }` fails every pending and later `expect`.
 * Also used by the wake suite.
 */
export class Mailbox<From extends { readonly type: string }, To> {
  private readonly inbox: From[] = [];
  private readonly takers: Array<{ resolve: (m: From) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;

  private readonly exit: Promise<void>;

  constructor(readonly worker: Worker) {
    this.exit = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: From) => {
      if (m.type === 'error') this.fail(new Error(`bench worker: ${'message' in m ? String(m.message) : 'error'}`));
      else if (this.takers.length > 0) this.takers.shift()!.resolve(m);
      else this.inbox.push(m);
    });
    worker.on('error', (e: Error) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`bench worker exited (code ${code})`)));
  }

  post(m: To): void {
    this.worker.postMessage(m);
  }

  /** The next message, which must be of type `type`. */
  async expect<T extends From['type']>(type: T): Promise<Extract<From, { type: T }>> {
    const m = this.inbox.shift() ?? (await this.next());
    if (m.type !== type) throw new Error(`bench worker: expected '${type}', got '${m.type}'`);
    return m as Extract<From, { type: T }>;
  }

  /** Resolves when the worker has exited (at once if it already has). */
  exited(): Promise<void> {
    return this.exit;
  }

  private next(): Promise<From> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const t of this.takers.splice(0)) t.reject(e);
  }
}

export interface RoundResult {
  /** Aggregate ops per second over the active workers. */
  readonly rate: number;
  readonly ops: number;
  readonly retries: number;
  /**
   * Worst of: the fraction of its window an active worker spent on the CPU (its own poll
   * gaps); the process's CPU time over (active workers x window); 1 - the hypervisor's
   * steal share on the worst CPU.
   */
  readonly onCpu: number;
}

export class ThreadRig {
  private round = 0;
  private constructor(
    private readonly boxes: ReadonlyArray<Mailbox<FromWorker, ToWorker>>,
    private readonly ctrl: Int32Array,
    private readonly arena: Arena,
    private readonly treiber: SharedArrayBuffer,
  ) {}

  /** Number of workers (the most threads a round can use). */
  get workers(): number {
    return this.boxes.length;
  }

  static async start(workers: number): Promise<ThreadRig> {
    if (!existsSync(WORKER_URL)) {
      throw new Error(`${fileURLToPath(WORKER_URL)} is missing: build first (\`npm run bench\` does: npm run build && tsx bench/run.ts)`);
    }
    // 64 MiB = 2048 segments of 32 KiB: batch 32, far more than the caches and holds of a
    // few dozen workers need.
    const arena = new Arena({ size: '64MiB' });
    const treiber = TreiberStack.create(TREIBER_NODES);
    const control = new SharedArrayBuffer(CTRL_WORDS * 4);
    const boxes: Array<Mailbox<FromWorker, ToWorker>> = [];
    for (let id = 0; id < workers; id++) {
      const init: WorkerInit = { id, arena: arena.descriptor, treiber, control };
      boxes.push(new Mailbox<FromWorker, ToWorker>(new Worker(WORKER_URL, { workerData: init })));
    }
    for (const b of boxes) await b.expect('ready');
    return new ThreadRig(boxes, new Int32Array(control), arena, treiber);
  }

  /** One window of `ms` with `threads` workers active. */
  async measure(mode: WorkMode, hold: number, threads: number, ms: number): Promise<RoundResult> {
    if (!Number.isInteger(threads) || threads < 1 || threads > this.boxes.length) throw new RangeError(`threads must be 1..${this.boxes.length}`);
    const round = ++this.round;
    const active = Array.from({ length: threads }, (_, j) => this.boxes[(round + j) % this.boxes.length]!);
    for (const b of active) b.post({ type: 'run', round, mode, hold });
    for (const b of active) await b.expect('armed');
    const cpu0 = cpuTimes();
    const usage0 = process.cpuUsage();
    const t0 = performance.now();
    Atomics.store(this.ctrl, CTRL_GO, round);
    Atomics.notify(this.ctrl, CTRL_GO);
    await sleep(ms);
    Atomics.store(this.ctrl, CTRL_STOP, round);
    const used = process.cpuUsage(usage0);
    const wallUs = (performance.now() - t0) * 1000;
    const steal = maxSteal(cpu0, cpuTimes());
    // CPU time of the whole process (the main thread sleeps) against what the active workers
    // would use if each had a core the whole window: catches preemption in slices too short
    // for the workers' own gap meters.
    const share = (used.user + used.system) / (active.length * wallUs);
    let rate = 0;
    let ops = 0;
    let retries = 0;
    let onCpu = Math.min(1 - steal, share);
    for (const b of active) {
      const r = await b.expect('result');
      if (r.round !== round) throw new Error(`bench worker answered round ${r.round}, expected ${round}`);
      rate += (r.ops / r.ns) * 1e9;
      ops += r.ops;
      retries += r.retries;
      onCpu = Math.min(onCpu, 1 - r.offCpuNs / r.ns);
    }
    return { rate, ops, retries, onCpu };
  }

  /** Stop the workers and check that both structures came back whole. */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    for (const b of this.boxes) b.post({ type: 'exit' });
    await Promise.all(this.boxes.map((b) => b.exited()));
    const audit = this.arena.audit();
    if (!audit.ok) problems.push(`arena audit failed: ${audit.problems.join('; ')}`);
    const n = new TreiberStack(this.treiber).count(TREIBER_NODES);
    if (n !== TREIBER_NODES) problems.push(`Treiber baseline corrupted: ${n} of ${TREIBER_NODES} nodes reachable`);
    this.arena.close();
    return problems;
  }
}
