/**
 * Thread slots: one per attached Arena object (one line each).
 *
 * Owned word: T_UID of each slot. CAS 0 → uid claims a slot at attach; a store of 0 frees it
 * at detach, or by the reclaimer once the owning thread is known dead. While T_UID != 0 the
 * segments whose STATE is CACHED(slot) or QUARANTINED(slot) belong to that thread's private
 * cache; only that thread writes them (or the reclaimer, after the thread died).
 */
import { T_UID, W_THREAD_UID, threadWord, type Layout } from './layout.js';

export function claimThreadSlot(i32: Int32Array, l: Layout): { slot: number; uid: number } | null {
  const uid = (Atomics.add(i32, W_THREAD_UID, 1) + 1) | 0 || 1;
  for (let slot = 0; slot < l.maxThreads; slot++) {
    if (Atomics.compareExchange(i32, threadWord(l, slot, T_UID), 0, uid) === 0) return { slot, uid };
  }
  return null;
}

export function freeThreadSlot(i32: Int32Array, l: Layout, slot: number): void {
  Atomics.store(i32, threadWord(l, slot, T_UID), 0);
}

export function threadSlotLive(i32: Int32Array, l: Layout, slot: number): boolean {
  return Atomics.load(i32, threadWord(l, slot, T_UID)) !== 0;
}
