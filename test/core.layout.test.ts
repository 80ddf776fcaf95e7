import { describe, expect, it } from 'vitest';
import { leaseSlotForCursor } from '../src/core/layout.js';

describe('lease slot order', () => {
  it.each([[1], [2], [3], [5], [7], [8], [13], [4096]])('hands out every one of %d slots exactly once per round', (n) => {
    const slots = Array.from({ length: n }, (_, c) => leaseSlotForCursor(c, n));
    expect(new Set(slots).size).toBe(n);
    expect(slots.every((s) => Number.isInteger(s) && s >= 0 && s < n)).toBe(true);
    expect(leaseSlotForCursor(n, n)).toBe(slots[0]); // the next round starts over
  });

  it('keeps leases opened one after another at least 4 slots (128 bytes) apart (regression: false sharing)', () => {
    const slots = Array.from({ length: 1024 }, (_, c) => leaseSlotForCursor(c, 4096));
    for (let k = 1; k < slots.length; k++) expect(Math.abs(slots[k]! - slots[k - 1]!)).toBeGreaterThanOrEqual(4);
  });
});
