import type { InputSpec } from './descriptor.js';

/**
 * Where the source frame sits inside the model input, in model-input normalized units.
 * A model box (x, y in 0..1 of the model input) maps to source-normalized coordinates as
 * x_src = x / contentWidth, y_src = y / contentHeight (the content starts at the top-left).
 */
export interface InputGeometry {
  /** Fraction of the model input's width covered by the source frame (1 for stretch). */
  readonly contentWidth: number;
  /** Fraction of the model input's height covered by the source frame (1 for stretch). */
  readonly contentHeight: number;
}

/** Geometry of a source of the given size under the descriptor's resize mode. */
export function inputGeometry(width: number, height: number, input: InputSpec): InputGeometry {
  if (input.resize === 'stretch') return { contentWidth: 1, contentHeight: 1 };
  // face-api's padToSquare: pad the short side (bottom or right) to a square of the long side.
  const side = Math.max(width, height);
  return { contentWidth: width / side, contentHeight: height / side };
}

interface AxisTable {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

const axisCache = new Map<string, AxisTable>();

/**
 * Sample positions for TF's legacy bilinear resize (align_corners=false, half_pixel_centers=false),
 * the one tf.image.resizeBilinear uses by default and face-api relies on: src = dst * in/out.
 * `virtualSize` is the padded size (letterbox); `realSize` the source pixels; positions at or past
 * realSize read padding.
 */
function axisTable(virtualSize: number, outSize: number): AxisTable {
  const key = `${virtualSize}:${outSize}`;
  let t = axisCache.get(key);
  if (!t) {
    const lo = new Int32Array(outSize);
    const hi = new Int32Array(outSize);
    const frac = new Float32Array(outSize);
    const scale = virtualSize / outSize;
    for (let i = 0; i < outSize; i++) {
      const src = i * scale;
      lo[i] = Math.floor(src);
      hi[i] = Math.min(Math.ceil(src), virtualSize - 1);
      frac[i] = src - lo[i];
    }
    t = { lo, hi, frac };
    if (axisCache.size > 64) axisCache.clear();
    axisCache.set(key, t);
  }
  return t;
}

/**
 * Resizes one packed RGB24 frame to the model input and normalizes it, writing
 * [input.height, input.width, 3] float32 values into `out` at `offset`.
 * This is the single place where frames are resized for the model. It runs in JS rather than in
 * ffmpeg's scaler because the model's reference preprocessing is TF's bilinear resize: ffmpeg's
 * bilinear shifts scores by up to 0.04 (see SSD-FACTS.md), and on 720p this costs ~1.5 ms per frame,
 * small next to inference.
 */
export function preprocessFrame(
  data: Uint8Array,
  width: number,
  height: number,
  input: InputSpec,
  out: Float32Array,
  offset = 0,
): InputGeometry {
  const geometry = inputGeometry(width, height, input);
  const vw = input.resize === 'letterbox' ? Math.max(width, height) : width;
  const vh = input.resize === 'letterbox' ? Math.max(width, height) : height;
  const xs = axisTable(vw, input.width);
  const ys = axisTable(vh, input.height);
  const { scale, offset: bias } = input.normalize;
  const rowStride = width * 3;
  const outW = input.width;
  const outRow = outW * 3;
  // Columns whose both taps are inside the frame, as a prefix (taps only grow with ox).
  let inner = 0;
  while (inner < outW && xs.hi[inner] < width) inner++;
  for (let oy = 0; oy < input.height; oy++) {
    const rowStart = offset + oy * outRow;
    const y0 = ys.lo[oy];
    if (y0 >= height) {
      // Entirely in the letterbox padding: black, i.e. the normalization offset.
      out.fill(bias, rowStart, rowStart + outRow);
      continue;
    }
    const y1 = ys.hi[oy];
    const y1In = y1 < height;
    const dy = ys.frac[oy];
    const r0 = y0 * rowStride;
    const r1 = y1 * rowStride;
    let o = rowStart;
    // Fast path: all four taps inside the frame (channels unrolled: 1.26 vs 1.49 ms per 720p frame).
    if (y1In) {
      for (let ox = 0; ox < inner; ox++) {
        const c00 = r0 + xs.lo[ox] * 3;
        const c01 = r0 + xs.hi[ox] * 3;
        const c10 = r1 + xs.lo[ox] * 3;
        const c11 = r1 + xs.hi[ox] * 3;
        const dx = xs.frac[ox];
        const t0 = data[c00] + (data[c01] - data[c00]) * dx;
        const b0 = data[c10] + (data[c11] - data[c10]) * dx;
        const t1 = data[c00 + 1] + (data[c01 + 1] - data[c00 + 1]) * dx;
        const b1 = data[c10 + 1] + (data[c11 + 1] - data[c10 + 1]) * dx;
        const t2 = data[c00 + 2] + (data[c01 + 2] - data[c00 + 2]) * dx;
        const b2 = data[c10 + 2] + (data[c11 + 2] - data[c10 + 2]) * dx;
        out[o] = (t0 + (b0 - t0) * dy) * scale + bias;
        out[o + 1] = (t1 + (b1 - t1) * dy) * scale + bias;
        out[o + 2] = (t2 + (b2 - t2) * dy) * scale + bias;
        o += 3;
      }
    } else {
      // The bottom tap is in the letterbox padding (black).
      for (let ox = 0; ox < inner; ox++) {
        const c00 = r0 + xs.lo[ox] * 3;
        const c01 = r0 + xs.hi[ox] * 3;
        const dx = xs.frac[ox];
        for (let c = 0; c < 3; c++) {
          const top = data[c00 + c] + (data[c01 + c] - data[c00 + c]) * dx;
          out[o++] = (top - top * dy) * scale + bias;
        }
      }
    }
    // Columns touching the padding on the right.
    for (let ox = inner; ox < outW; ox++) {
      const x0 = xs.lo[ox];
      const x1 = xs.hi[ox];
      const dx = xs.frac[ox];
      const x0In = x0 < width;
      const x1In = x1 < width;
      for (let c = 0; c < 3; c++) {
        // Padding pixels are 0 (black), as in face-api's padToSquare.
        const tl = x0In ? data[r0 + x0 * 3 + c] : 0;
        const tr = x1In ? data[r0 + x1 * 3 + c] : 0;
        const bl = y1In && x0In ? data[r1 + x0 * 3 + c] : 0;
        const br = y1In && x1In ? data[r1 + x1 * 3 + c] : 0;
        const top = tl + (tr - tl) * dx;
        const bottom = bl + (br - bl) * dx;
        out[o++] = (top + (bottom - top) * dy) * scale + bias;
      }
    }
  }
  return geometry;
}

/**
 * Maps a model-normalized box [x1, y1, x2, y2] to source-normalized coordinates, clipped to [0, 1].
 * Returns null when the clipped box has no area (it lay entirely in the padding).
 */
export function toSourceBox(
  box: readonly number[],
  geometry: InputGeometry,
): [number, number, number, number] | null {
  const x1 = clamp01(box[0] / geometry.contentWidth);
  const y1 = clamp01(box[1] / geometry.contentHeight);
  const x2 = clamp01(box[2] / geometry.contentWidth);
  const y2 = clamp01(box[3] / geometry.contentHeight);
  if (!(x2 > x1 && y2 > y1)) return null;
  return [x1, y1, x2, y2];
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
