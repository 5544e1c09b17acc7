import type { BoxCoderSpec } from './descriptor.js';

/*
 * SSD box coders. Anchors are [numAnchors, 4] center form [cy, cx, h, w] (see anchors.ts);
 * decoded boxes are corners [x1, y1, x2, y2], normalized to the model input, not clipped.
 *
 * TF OD API faster_rcnn_box_coder, encodings (ty, tx, th, tw):
 *   cy = ty / sy * ha + cya,  cx = tx / sx * wa + cxa,  h = exp(th / sh) * ha,  w = exp(tw / sw) * wa
 * Caffe SSD (CENTER_SIZE, variance encoded in target = false), encodings (tx, ty, tw, th):
 *   cx = tx * v0 * wa + cxa,  cy = ty * v1 * ha + cya,  w = exp(tw * v2) * wa,  h = exp(th * v3) * ha
 * none (a network that decodes its own boxes, e.g. coco-ssd's TF.js graphs), encodings
 * (ymin, xmin, ymax, xmax): reordered to corners, anchors not read.
 */

/**
 * Decodes anchor i's encoding (enc[4i .. 4i+3]) into [x1, y1, x2, y2] at out[outOffset ..].
 * enc: [numAnchors, 4] encodings of one frame; anchors: [numAnchors, 4] as [cy, cx, h, w].
 */
export function decodeBox(
  enc: ArrayLike<number>,
  anchors: ArrayLike<number>,
  i: number,
  coder: BoxCoderSpec,
  out: { [k: number]: number },
  outOffset = 0,
): void {
  const o = i * 4;
  if (coder.type === 'none') {
    // Already decoded by the network as [ymin, xmin, ymax, xmax]; anchors are not read.
    out[outOffset] = enc[o + 1];
    out[outOffset + 1] = enc[o];
    out[outOffset + 2] = enc[o + 3];
    out[outOffset + 3] = enc[o + 2];
    return;
  }
  const cya = anchors[o], cxa = anchors[o + 1], ha = anchors[o + 2], wa = anchors[o + 3];
  let cy: number, cx: number, h: number, w: number;
  if (coder.type === 'tf') {
    const s = coder.scales;
    cy = (enc[o] / s[0]) * ha + cya;
    cx = (enc[o + 1] / s[1]) * wa + cxa;
    h = Math.exp(enc[o + 2] / s[2]) * ha;
    w = Math.exp(enc[o + 3] / s[3]) * wa;
  } else {
    const v = coder.variances;
    cx = enc[o] * v[0] * wa + cxa;
    cy = enc[o + 1] * v[1] * ha + cya;
    w = Math.exp(enc[o + 2] * v[2]) * wa;
    h = Math.exp(enc[o + 3] * v[3]) * ha;
  }
  out[outOffset] = cx - w / 2;
  out[outOffset + 1] = cy - h / 2;
  out[outOffset + 2] = cx + w / 2;
  out[outOffset + 3] = cy + h / 2;
}

/** Decodes every anchor: enc [numAnchors, 4] → Float32Array [numAnchors, 4] as [x1, y1, x2, y2]. */
export function decodeBoxes(enc: ArrayLike<number>, anchors: ArrayLike<number>, coder: BoxCoderSpec): Float32Array {
  // With coder 'none' there are no anchors: one box per 4 encodings.
  const n = (coder.type === 'none' ? enc.length : anchors.length) >> 2;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) decodeBox(enc, anchors, i, coder, out, i * 4);
  return out;
}

/**
 * Encodes box [x1, y1, x2, y2] against anchor i (the inverse of decodeBox), writing the 4
 * encodings at out[outOffset ..] in the coder's order ((ty, tx, th, tw) for tf, (tx, ty, tw, th) for caffe).
 * The box must have positive width and height.
 */
export function encodeBox(
  box: ArrayLike<number>,
  anchors: ArrayLike<number>,
  i: number,
  coder: BoxCoderSpec,
  out: { [k: number]: number },
  outOffset = 0,
): void {
  const o = i * 4;
  if (coder.type === 'none') {
    // The network's own form, [ymin, xmin, ymax, xmax].
    out[outOffset] = box[1];
    out[outOffset + 1] = box[0];
    out[outOffset + 2] = box[3];
    out[outOffset + 3] = box[2];
    return;
  }
  const cya = anchors[o], cxa = anchors[o + 1], ha = anchors[o + 2], wa = anchors[o + 3];
  const w = box[2] - box[0], h = box[3] - box[1];
  const cx = box[0] + w / 2, cy = box[1] + h / 2;
  if (coder.type === 'tf') {
    const s = coder.scales;
    out[outOffset] = ((cy - cya) / ha) * s[0];
    out[outOffset + 1] = ((cx - cxa) / wa) * s[1];
    out[outOffset + 2] = Math.log(h / ha) * s[2];
    out[outOffset + 3] = Math.log(w / wa) * s[3];
  } else {
    const v = coder.variances;
    out[outOffset] = (cx - cxa) / wa / v[0];
    out[outOffset + 1] = (cy - cya) / ha / v[1];
    out[outOffset + 2] = Math.log(w / wa) / v[2];
    out[outOffset + 3] = Math.log(h / ha) / v[3];
  }
}
