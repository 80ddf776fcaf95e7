/**
 * Actors over comlink: the main-thread end of an actor's link, and the comlink transfer
 * handlers both ends install. With task-manager.ts's piscina, this file and workers/slot.ts are
 * the only importers of comlink.
 *
 * An actor is a long-lived request on a slot (see workers/slot.ts): its factory's object is
 * exposed with comlink's Node adapter over a MessageChannel, one port per end. Three additions to
 * plain comlink:
 *   - a transfer handler sends a MemorySegment by handle, `[arena id, handle]`, in both
 *     directions: not one byte is copied, and the receiving thread rehydrates the same segment
 *     from its own Arena object. Ownership does not move: the segment stays in its lease (a
 *     borrow); move it with `lease.transfer` if the receiver must own it. comlink applies
 *     transfer handlers to top-level arguments and return values only, so a segment nested
 *     inside another value is not sent by handle (structured clone refuses it).
 *   - the stock "throw" handler is extended to carry an error's `code`, so a caller sees
 *     ERR_LEASE_LIMIT thrown in an actor as ERR_LEASE_LIMIT (errors cross threads as data).
 *   - the main end's endpoint remembers the calls in flight: when the actor's thread dies (or the
 *     actor is closed) they, and every later call, reject with ERR_TASK_CRASHED (or
 *     ERR_LEASE_CLOSED) instead of waiting forever for an answer that cannot come.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { transferHandlers, wrap, type Endpoint, type Remote, type TransferHandler } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { foreignSegment } from '../errors.js';
import type { Arena } from '../core/arena.js';
import { MemorySegment } from '../core/segment.js';
import type { ActorControl, ErrorData, SegmentWire } from '../protocol.js';
import { errorToData } from './pool-errors.js';

/** The controls an {@link Actor} adds to comlink's `Remote<T>`. */
export interface ActorControls {
  /**
   * Stop the actor: its `ctx.signal` fires, its object gets `Symbol.asyncDispose` /
   * `Symbol.dispose` if it has one, its lease is closed (what it still holds goes back to the
   * arena) and its place on the slot is freed. Calls made after close reject with
   * ERR_LEASE_CLOSED. Idempotent; resolves once all of that is done.
   */
  close(): Promise<void>;
  /** True once close() was called or the actor's thread died. */
  readonly closed: boolean;
  /** `await using actor = await tm.spawn(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A long-lived actor started by `tm.spawn`: comlink's `Remote<T>` of the object its factory
 * returned, plus {@link ActorControls}. A `close` member of `T` is shadowed by the control.
 */
export type Actor<T> = Remote<T> & ActorControls;

// ---- transfer handlers ---------------------------------------------------------------------------

/** The Arena object of this thread for each arena id the handlers may meet. */
const arenas = new Map<number, { arena: Arena; refs: number }>();

const SEGMENT_HANDLER = 'segment-arena:segment';
const CODE_MARK = Symbol.for('segment-arena:throw-with-code');

const segmentHandler: TransferHandler<MemorySegment, SegmentWire> = {
  canHandle: (value: unknown): value is MemorySegment => value instanceof MemorySegment,
  // `ctx.id` is the segment's arena id (internal to core; MemorySegment has no public arena id).
  serialize: (seg) => [[seg.arenaId, seg.handle], []],
  deserialize: ([arenaId, handle]) => {
    const entry = arenas.get(arenaId);
    if (entry === undefined) throw foreignSegment(`handle ${handle}`, 'arena');
    return entry.arena.segment(handle);
  },
};

/** comlink's "throw" handler, made to carry `code` too (its serialize keeps name/message/stack). */
function withCode(stock: TransferHandler<unknown, unknown>): TransferHandler<unknown, unknown> {
  const handler: TransferHandler<unknown, unknown> & { [CODE_MARK]?: true } = {
    canHandle: (value: unknown): value is unknown => stock.canHandle(value),
    serialize(value) {
      const [wire, transfer] = stock.serialize(value);
      const thrown = (value as { value?: unknown }).value;
      const code = typeof thrown === 'object' && thrown !== null ? (thrown as { code?: unknown }).code : undefined;
      const w = wire as { isError?: unknown; value?: unknown };
      if (typeof code === 'string' && w.isError === true && typeof w.value === 'object' && w.value !== null) {
        return [{ ...w, value: { ...w.value, code } }, transfer];
      }
      return [wire, transfer];
    },
    deserialize: (wire) => stock.deserialize(wire),
  };
  handler[CODE_MARK] = true;
  return handler;
}

function installHandlers(): void {
  if (!transferHandlers.has(SEGMENT_HANDLER)) {
    transferHandlers.set(SEGMENT_HANDLER, segmentHandler as TransferHandler<unknown, unknown>);
  }
  const stock = transferHandlers.get('throw') as (TransferHandler<unknown, unknown> & { [CODE_MARK]?: true }) | undefined;
  if (stock !== undefined && stock[CODE_MARK] !== true) transferHandlers.set('throw', withCode(stock));
}

/**
 * Let this thread's comlink send and receive segments of `arena` by handle (and errors with their
 * code). Returns the function that undoes the registration (counted: one per caller).
 */
export function registerArena(arena: Arena): () => void {
  installHandlers();
  const id = arena.descriptor.id;
  const entry = arenas.get(id);
  if (entry === undefined) arenas.set(id, { arena, refs: 1 });
  else entry.refs++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const e = arenas.get(id);
    if (e !== undefined && --e.refs === 0) arenas.delete(id);
  };
}

// ---- the main end of a link -----------------------------------------------------------------------

/** comlink's wire form of a thrown error (the "throw" handler's), used to fail calls locally. */
const thrownWire = (id: string, error: ErrorData): object => ({
  id,
  type: 'HANDLER',
  name: 'throw',
  value: { isError: true, value: { name: error.name, message: error.message, code: error.code, stack: error.stack } },
});

type Listener = Parameters<Endpoint['addEventListener']>[1];

/** An endpoint over `port` that can fail every call in flight, and every later one. */
class GuardedEndpoint implements Endpoint {
  private readonly inner: Endpoint;
  private readonly inFlight = new Set<string>();
  private readonly listeners = new Map<Listener, Listener>();
  private failure: ErrorData | undefined;

  constructor(port: MessagePort) {
    this.inner = nodeEndpoint(port);
    this.start = this.inner.start;
  }

  readonly start: (() => void) | undefined;

  postMessage(message: unknown, transfer?: Parameters<Endpoint['postMessage']>[1]): void {
    const id = (message as { id?: unknown } | null)?.id;
    if (this.failure !== undefined) {
      if (typeof id === 'string') {
        const failure = this.failure;
        queueMicrotask(() => this.deliver(thrownWire(id, failure)));
      }
      return;
    }
    if (typeof id === 'string') this.inFlight.add(id);
    this.inner.postMessage(message, transfer);
  }

  addEventListener(type: string, listener: Listener): void {
    const wrapped: Listener = (ev: Event) => {
      const id = ((ev as unknown as { data?: { id?: unknown } }).data)?.id;
      if (typeof id === 'string') this.inFlight.delete(id);
      if (typeof listener === 'function') listener(ev);
      else listener.handleEvent(ev);
    };
    this.listeners.set(listener, wrapped);
    this.inner.addEventListener(type, wrapped);
  }

  removeEventListener(type: string, listener: Listener): void {
    const wrapped = this.listeners.get(listener);
    if (wrapped === undefined) return;
    this.listeners.delete(listener);
    this.inner.removeEventListener(type, wrapped);
  }

  /** Reject every call in flight with `error`, and every later call (first failure wins). */
  fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = errorToData(error);
    for (const id of this.inFlight) this.deliver(thrownWire(id, this.failure));
    this.inFlight.clear();
  }

  private deliver(data: object): void {
    for (const l of [...this.listeners.values()]) {
      const ev = { data } as unknown as Event;
      if (typeof l === 'function') l(ev);
      else l.handleEvent(ev);
    }
  }
}

/**
 * The main end of an actor: a MessageChannel whose other port goes to the slot in the
 * ActorRequest, the comlink remote over this end, and the actor's ready signal.
 */
export class ActorLink {
  /** The port to transfer to the slot. */
  readonly workerPort: MessagePort;
  /** Resolves when the slot exposed the actor's object. */
  readonly ready: Promise<void>;
  private readonly port: MessagePort;
  private readonly endpoint: GuardedEndpoint;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.workerPort = port2;
    this.endpoint = new GuardedEndpoint(port1);
    this.ready = new Promise<void>((resolve) => {
      const onMessage = (m: unknown): void => {
        if ((m as ActorControl | null)?.kind === 'segment-arena:actor-ready') {
          port1.off('message', onMessage);
          resolve();
        }
      };
      port1.on('message', onMessage);
    });
  }

  /** The comlink remote, typed as the caller says. */
  remote<T>(): Remote<T> {
    return wrap<T>(this.endpoint);
  }

  /** Fail calls in flight and later ones with `error`, and close the port. */
  shut(error: Error): void {
    this.endpoint.fail(error);
    this.port.close();
  }
}

/** The Actor object: `remote` with `close`, `closed` and `Symbol.asyncDispose` in front. */
export function makeActor<T>(remote: Remote<T>, controls: { close(): Promise<void>; isClosed(): boolean }): Actor<T> {
  const close = (): Promise<void> => controls.close();
  return new Proxy(remote as object, {
    get(target, prop, receiver) {
      if (prop === 'close' || prop === Symbol.asyncDispose) return close;
      if (prop === 'closed') return controls.isClosed();
      // Not a thenable: `await tm.spawn(...)` must resolve to the actor itself.
      if (prop === 'then') return undefined;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  }) as Actor<T>;
}
