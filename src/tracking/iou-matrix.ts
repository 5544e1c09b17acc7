/*
 * Pairwise intersection over union of two box lists, boxes [x1, y1, x2, y2] packed 4 floats
 * each (any units, normalized in practice). IoU = area(a ∩ b) / area(a ∪ b); 0 for disjoint
 * boxes and for two empty boxes. Cost: na * nb IoUs, areas of b computed once per call.
 */

/** Grows a scratch array to at least n floats (keeps the old one when it is large enough). */
export function ensureFloat64(buffer: Float64Array, n: number): Float64Array {
  return buffer.length >= n ? buffer : new Float64Array(Math.max(n, buffer.length * 2));
}

/** IoU of two boxes a[ai..ai+3] and b[bi..bi+3]. */
export function boxIou(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const iw = Math.min(a[ai + 2], b[bi + 2]) - Math.max(a[ai], b[bi]);
  if (iw <= 0) return 0;
  const ih = Math.min(a[ai + 3], b[bi + 3]) - Math.max(a[ai + 1], b[bi + 1]);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[ai + 2] - a[ai]) * (a[ai + 3] - a[ai + 1]) + (b[bi + 2] - b[bi]) * (b[bi + 3] - b[bi + 1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Fills out[i * nb + j] = IoU(a box i, b box j) for packed boxes a [na, 4] and b [nb, 4]; returns out. */
export function iouMatrix(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, out: Float64Array): Float64Array {
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) out[i * nb + j] = boxIou(a, 4 * i, b, 4 * j);
  }
  return out;
}
