import { expect } from 'chai';

/** Model-input sized frame (512x512 RGB) of the face model, in floats. */
export const FACE_FRAME = 512 * 512 * 3;

/** Deterministic pseudo-random floats in [lo, hi) (an LCG: same seed, same values). */
export function randomFloats(length: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

/** n deterministic pseudo-random face-model input frames in [-1, 1): [n, 512, 512, 3]. */
export function randomFrames(n: number, seed: number): Float32Array {
  return randomFloats(n * FACE_FRAME, seed);
}

/** Largest |a[i] - b[i]|; the lengths must match. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
