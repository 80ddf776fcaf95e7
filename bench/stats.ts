/** Small statistics for paired, alternating reps. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per-rep ratios of two equally long series, and their median and range. */
export interface PairedRatio {
  readonly ratios: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** ratio[i] = num[i] / den[i] for each rep i (the two were measured back to back). */
export function pairedRatio(num: readonly number[], den: readonly number[]): PairedRatio {
  if (num.length !== den.length) throw new Error(`pairedRatio: ${num.length} vs ${den.length} reps`);
  const ratios = num.map((x, i) => x / den[i]!);
  return { ratios, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}
