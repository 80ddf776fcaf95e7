/**
 * The raw piscina baseline's worker: the same work as pool-tasks.ts with no arena — results
 * travel by piscina's structured clone.
 */
const now = (): number => performance.timeOrigin + performance.now();

export default function empty(): null {
  return null;
}

/** Produce `bytes` in a fresh buffer (one byte per 32 KiB written) and return it by clone. */
export function produce(bytes: number): { data: Uint8Array; sentAt: number } {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 32 * 1024) data[i] = (i >> 15) & 0xff;
  return { data, sentAt: now() };
}
