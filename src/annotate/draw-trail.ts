import type { Rgb } from './track-color.js';

/**
 * Draws a track's trail into a packed RGB24 buffer: a polyline through `points` (normalized
 * [x0, y0, x1, y1, ...], oldest first, as TrackTrails keeps them) that fades with age. Segment k
 * of m (0 the oldest) is blended over the frame with opacity (k + 1) / m, so the newest segment
 * is solid `color` and the oldest almost transparent.
 *
 * A point maps to the pixel that contains it (x * width, y * height, floored, clamped into the
 * frame). Each segment is a Bresenham line stepped along its major axis with a `thickness`-pixel
 * span across it, so no pixel of one segment is blended twice; every segment after the first
 * skips its first pixel, which the previous segment drew. Opacity is fixed-point (1/256 steps).
 *
 * Cost: O(total segment length x thickness) pixel blends, a few hundred for a 20-point trail at
 * 720p; no allocation.
 */
export function drawTrail(out: Uint8Array, width: number, height: number, points: ArrayLike<number>, color: Rgb, thickness: number): void {
  const count = Math.floor(points.length / 2);
  if (count < 2 || width < 1 || height < 1) return;
  const segments = count - 1;
  let px = toPixel(points[0], width);
  let py = toPixel(points[1], height);
  for (let k = 0; k < segments; k++) {
    const qx = toPixel(points[2 * k + 2], width);
    const qy = toPixel(points[2 * k + 3], height);
    const alpha = Math.round(((k + 1) / segments) * 256); // 1..256
    line(out, width, height, px, py, qx, qy, k > 0, color, alpha, thickness);
    px = qx;
    py = qy;
  }
}

/** The pixel index along an axis of `size` pixels that contains the normalized coordinate v. */
function toPixel(v: number, size: number): number {
  const p = Math.floor(v * size);
  return p < 0 || !(p === p) ? 0 : p >= size ? size - 1 : p; // NaN -> 0
}

function line(
  out: Uint8Array, width: number, height: number,
  x0: number, y0: number, x1: number, y1: number,
  skipFirst: boolean, c: Rgb, alpha: number, thickness: number,
): void {
  const dx = Math.abs(x1 - x0);
  const dy = Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  const steps = Math.max(dx, dy);
  const before = (thickness - 1) >> 1; // span pixels before the line's centre pixel
  const xMajor = dx >= dy;
  let x = x0;
  let y = y0;
  let err = (xMajor ? dx : dy) >> 1;
  for (let i = 0; i <= steps; i++) {
    if (i > 0 || !skipFirst) {
      if (xMajor) blendSpan(out, width, x, y - before, 0, 1, thickness, height, c, alpha);
      else blendSpan(out, width, x - before, y, 1, 0, thickness, width, c, alpha);
    }
    // Bresenham: one step along the major axis, and along the minor one when the error overflows.
    if (xMajor) {
      x += sx;
      err -= dy;
      if (err < 0) { y += sy; err += dx; }
    } else {
      y += sy;
      err -= dx;
      if (err < 0) { x += sx; err += dy; }
    }
  }
}

/** Blends `n` pixels from (x, y) stepping (ux, uy), skipping those outside 0..limit-1 along the step axis. */
function blendSpan(out: Uint8Array, width: number, x: number, y: number, ux: number, uy: number, n: number, limit: number, c: Rgb, alpha: number): void {
  const keep = 256 - alpha;
  const [r, g, b] = c;
  for (let j = 0; j < n; j++, x += ux, y += uy) {
    const along = ux ? x : y;
    if (along < 0 || along >= limit) continue;
    const i = (y * width + x) * 3;
    out[i] = (out[i] * keep + r * alpha + 128) >> 8;
    out[i + 1] = (out[i + 1] * keep + g * alpha + 128) >> 8;
    out[i + 2] = (out[i + 2] * keep + b * alpha + 128) >> 8;
  }
}
