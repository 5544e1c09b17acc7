// Small numeric helpers shared by every measurement: the table and the JSON line print rounded
// values, and the paired rounds are summarised by their median.

/** The median of a non-empty list, without reordering the list (callers reuse it). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `v` rounded to `d` decimal places (the precision the table and the JSON line report). */
export function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}
