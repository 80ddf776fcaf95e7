/**
 * The slot: piscina's task handler, loaded once in each worker thread of a TaskManager.
 *
 * Node 20 cannot start a `.ts` file as a worker: this file runs as built JavaScript,
 * dist/workers/slot.js (src/pool/worker-path.ts finds it).
 *
 * Once per thread, at load (before piscina reports the thread ready): attach to the arena named
 * in workerData, and announce the thread's arena thread slot to the main thread, which needs it
 * to reclaim this thread's cached segments if the thread dies.
 *
 * Per request (one piscina message each way, nothing else):
 *   task   attach the task's lease (created by the main thread), build ctx, call the module's
 *          export with (input, ctx), and answer with the result, its segments replaced by
 *          handles (src/pool/result-codec.ts). The lease is left open: the main thread moves the
 *          result's segments out of it and closes it, which releases everything else.
 *   actor  call the factory with ctx, expose its object over the request's port with comlink,
 *          say ready, and answer only once the actor's stop flag is raised (close).
 * Errors never reach piscina: every one is caught and answered as data (src/pool/pool-errors.ts),
 * so a rejected piscina promise on the main thread always means this thread died.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Arena } from '../src/core/arena.js';
import type { Lease } from '../src/core/lease.js';
import { aborted, invalidArgument } from '../src/errors.js';
import type {
  ActorControl, ActorRequest, SlotAnnouncement, SlotRequest, SlotResponse, SlotWorkerData, TaskRequest,
} from '../src/protocol.js';
import { registerArena } from '../src/pool/actor.js';
import { errorToData } from '../src/pool/pool-errors.js';
import { encodeResult } from '../src/pool/result-codec.js';
import { StopFlags } from '../src/pool/stop-flags.js';
import type { TaskContext } from '../src/pool/task-context.js';

const data = workerData as SlotWorkerData;
if (data?.kind !== 'segment-arena:slot') throw new Error('workers/slot.js must be started by a segment-arena TaskManager');

const arena = Arena.attach(data.arena);
const stopFlags = new StopFlags(data.stopFlags);
registerArena(arena);
const announcement: SlotAnnouncement = { kind: 'segment-arena:attached', threadId, threadSlot: arena.threadSlot };
parentPort!.postMessage(announcement);

type Callable = (...args: unknown[]) => unknown;

/** Loaded modules by URL (import() caches too; this skips its promise on the hot path). */
const modules = new Map<string, Record<string, unknown>>();

function pick(mod: Record<string, unknown>, url: string, exportName: string): Callable {
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw invalidArgument('task', `must be a module whose export '${exportName}' is a function (${url})`, fn);
  }
  return fn as Callable;
}

/** The export, synchronously when the module is loaded already (every task but a module's first). */
function loadExport(url: string, exportName: string): Callable | Promise<Callable> {
  const mod = modules.get(url);
  if (mod !== undefined) return pick(mod, url, exportName);
  return import(url).then((m: Record<string, unknown>) => {
    modules.set(url, m);
    return pick(m, url, exportName);
  });
}

/**
 * ctx of one request. The signal is built on first use: a task that never looks at it costs no
 * AbortController and no pending wait (it can still be stopped, by the grace-period kill).
 */
class Context implements TaskContext {
  readonly arena = arena;
  private controller: AbortController | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    readonly lease: Lease,
    readonly slot: number,
    readonly taskId: number,
    private readonly flag: number,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      this.unwatch = stopFlags.watch(this.flag, () => controller.abort(aborted('the task was aborted')));
    }
    return this.controller.signal;
  }

  /** The request settled: release the stop-flag wait. */
  dispose(): void {
    this.unwatch?.();
  }
}

/**
 * One task. A task that returns a plain value (the common case) is answered synchronously: no
 * promise is built or awaited on the slot's side (piscina awaits the answer once anyway), which
 * saves a few microtask hops per run; a task that returns a promise is awaited.
 */
function runTask(req: TaskRequest): SlotResponse | Promise<SlotResponse> {
  if (!stopFlags.begin(req.flag)) return { kind: 'error', error: errorToData(aborted('the task was aborted before it began')) };
  const ctx = new Context(arena.attachLease(req.lease), req.slot, req.taskId, req.flag);
  let result: unknown;
  try {
    const loaded = loadExport(req.module, req.exportName);
    if (typeof loaded !== 'function') return settleLater(ctx, loaded.then((fn) => fn(req.input, ctx)));
    result = loaded(req.input, ctx);
    // Inside the try: a result whose `then` getter throws must still end the task (regression:
    // the stop-flag wait stayed pending and the slot's cache was not flushed).
    if (isThenable(result)) return settleLater(ctx, result);
  } catch (e) {
    endTask(ctx);
    throw e;
  }
  try {
    return answer(result);
  } finally {
    endTask(ctx);
  }
}

async function settleLater(ctx: Context, pending: PromiseLike<unknown>): Promise<SlotResponse> {
  try {
    return answer(await pending);
  } finally {
    endTask(ctx);
  }
}

function answer(result: unknown): SlotResponse {
  const { value, segments, handles, mark } = encodeResult(result, arena);
  return segments === 0 ? { kind: 'ok', value, segments } : { kind: 'ok', value, segments, handles, mark };
}

function endTask(ctx: Context): void {
  ctx.dispose();
  // An idle slot hoards nothing: what this task released goes back for every thread.
  arena.flushCache();
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  ((typeof v === 'object' && v !== null) || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';

async function runActor(req: ActorRequest): Promise<SlotResponse> {
  if (!stopFlags.begin(req.flag)) return { kind: 'error', error: errorToData(aborted('the actor was closed before it began')) };
  const ctx = new Context(arena.attachLease(req.lease), req.slot, req.taskId, req.flag);
  const signal = ctx.signal; // armed now: it is the close request
  try {
    const factory = await loadExport(req.module, req.exportName);
    const target = await factory(ctx);
    if ((typeof target !== 'object' && typeof target !== 'function') || target === null) {
      throw invalidArgument('actor', `factory '${req.exportName}' of ${req.module} must return an object to expose`, target);
    }
    expose(target, nodeEndpoint(req.port));
    const ready: ActorControl = { kind: 'segment-arena:actor-ready' };
    req.port.postMessage(ready);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    req.port.close();
    const t = target as { [Symbol.asyncDispose]?: unknown; [Symbol.dispose]?: unknown };
    if (typeof t[Symbol.asyncDispose] === 'function') await (t[Symbol.asyncDispose] as () => unknown)();
    else if (typeof t[Symbol.dispose] === 'function') (t[Symbol.dispose] as () => unknown)();
    return { kind: 'ok', value: undefined, segments: 0 };
  } finally {
    req.port.close();
    ctx.dispose();
    arena.flushCache();
  }
}

/** piscina's handler: one request in, one answer out (synchronously when it can), never a throw. */
export default function slot(req: SlotRequest): SlotResponse | Promise<SlotResponse> {
  try {
    const res = req.kind === 'task' ? runTask(req) : runActor(req);
    return res instanceof Promise ? res.catch(asErrorAnswer) : res;
  } catch (e) {
    return asErrorAnswer(e);
  }
}

function asErrorAnswer(e: unknown): SlotResponse {
  return { kind: 'error', error: errorToData(e) };
}
