/**
 * The raw piscina baselines' worker (dispatch, handoff): the same work as pool-tasks.ts with no
 * arena. Results travel by piscina's structured clone, or by a transfer list (`produceMoved`).
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';

const now = (): number => performance.timeOrigin + performance.now();

/** Bytes between two written bytes of a produced buffer (one per 32 KiB page group). */
export const PRODUCE_STRIDE = 32 * 1024;

export default function empty(): null {
  return null;
}

/** The produced result: `data` holds byte (i >> 15) & 0xff at offset i for every i % 32 KiB == 0. */
export interface Produced {
  readonly data: Uint8Array;
  readonly sentAt: number;
}

function fill(bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += PRODUCE_STRIDE) data[i] = (i / PRODUCE_STRIDE) & 0xff;
  return data;
}

/** Produce `bytes` in a fresh buffer and return it by structured clone. */
export function produce(bytes: number): Produced {
  const data = fill(bytes);
  return { data, sentAt: now() };
}

/**
 * piscina's Transferable interface: the response is `[valueSymbol]` and the transfer list
 * `[transferableSymbol]`. (piscina only honours a movable at the top level of a result, so a
 * `{ data, sentAt }` object needs this wrapper rather than `move(data)` inside it.)
 */
class MovedResult {
  constructor(private readonly result: Produced) {}
  get [transferableSymbol](): object {
    return [this.result.data.buffer];
  }
  get [valueSymbol](): object {
    return this.result;
  }
}

/** Produce `bytes` in a fresh buffer and return it with its ArrayBuffer in the transfer list. */
export function produceMoved(bytes: number): unknown {
  const data = fill(bytes);
  return move(new MovedResult({ data, sentAt: now() }));
}
