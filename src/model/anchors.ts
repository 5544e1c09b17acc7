import { ModelError } from '../errors.js';
import type { AnchorSpec, CaffePriorBoxSpec, TfMultipleGridAnchorSpec } from './descriptor.js';

/*
 * Anchor (prior box) generation. Every generator returns a Float32Array [numAnchors, 4] in
 * center form [cy, cx, h, w], normalized to the model input (0..1, not clipped unless a Caffe
 * spec says `clip`). Anchor order: layer, row y, column x, box spec within the cell: the order
 * in which the SSD graph concatenates its heads' outputs (see ssd-graph.ts).
 * Values are computed in float64 and rounded once to float32.
 */

/** Original Caffe SSD300 (VGG16, VOC/COCO) PriorBox layers: 8732 anchors. */
export const SSD300_PRIOR_BOX: CaffePriorBoxSpec = {
  type: 'caffe-prior-box',
  imageSize: 300,
  featureMaps: [38, 19, 10, 5, 3, 1],
  steps: [8, 16, 32, 64, 100, 300],
  minSizes: [30, 60, 111, 162, 213, 264],
  maxSizes: [60, 111, 162, 213, 264, 315],
  aspectRatios: [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
  flip: true,
  clip: false,
  offset: 0.5,
};

/** Original Caffe SSD512 PriorBox layers: 24564 anchors. */
export const SSD512_PRIOR_BOX: CaffePriorBoxSpec = {
  type: 'caffe-prior-box',
  imageSize: 512,
  featureMaps: [64, 32, 16, 8, 4, 2, 1],
  steps: [8, 16, 32, 64, 128, 256, 512],
  minSizes: [35.84, 76.8, 153.6, 230.4, 307.2, 384.0, 460.8],
  maxSizes: [76.8, 153.6, 230.4, 307.2, 384.0, 460.8, 537.6],
  aspectRatios: [[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]],
  flip: true,
  clip: false,
  offset: 0.5,
};

/** TF OD API ssd_mobilenet_v1_coco (300x300) anchors, as in the TFLite COCO SSD: 1917 anchors. */
export const MOBILENET_SSD_COCO_300_ANCHORS: TfMultipleGridAnchorSpec = {
  type: 'tf-multiple-grid',
  featureMaps: [19, 10, 5, 3, 2, 1],
  minScale: 0.2,
  maxScale: 0.95,
  aspectRatios: [1.0, 2.0, 0.5, 3.0, 0.3333],
  reduceBoxesInLowestLayer: true,
  interpolatedScaleAspectRatio: 1.0,
  interpolatedPosition: 'last',
};

/** Generates the anchors of a spec: Float32Array [numAnchors, 4] as [cy, cx, h, w], normalized. */
export function generateAnchors(spec: AnchorSpec): Float32Array {
  switch (spec.type) {
    case 'tf-multiple-grid':
      return tfMultipleGridAnchors(spec);
    case 'caffe-prior-box':
      return caffePriorBoxes(spec);
    case 'explicit':
      if (spec.values.length % 4 !== 0) badSpec('anchors.values', 'a multiple of 4 numbers ([cy, cx, h, w] per anchor)', spec.values.length);
      return Float32Array.from(spec.values);
    case 'none':
      // The network decodes its own boxes: nothing to generate (anchorCount gives the box count).
      if (!Number.isInteger(spec.count) || spec.count < 1) badSpec('anchors.count', 'a whole number >= 1', spec.count);
      return new Float32Array(0);
    default:
      throw new ModelError('E_MODEL', `anchors.type: expected "tf-multiple-grid", "caffe-prior-box", "explicit" or "none", received ${JSON.stringify((spec as { type?: unknown }).type)}`, {
        hint: 'compare the descriptor\'s anchors with models/face.json',
      });
  }
}

/** Number of anchors a spec generates, without generating them. */
export function anchorCount(spec: AnchorSpec): number {
  if (spec.type === 'explicit') return Math.floor(spec.values.length / 4);
  if (spec.type === 'none') return spec.count;
  if (spec.type === 'tf-multiple-grid') {
    return tfBoxSpecs(spec).reduce((n, layer, i) => n + layer.length * spec.featureMaps[i] ** 2, 0);
  }
  return spec.featureMaps.reduce((n, fm, i) => n + fm * fm * caffeBoxesPerCell(spec, i), 0);
}

/** One anchor shape in a cell: scale (fraction of the input) and aspect ratio (w/h). */
interface BoxSpec {
  scale: number;
  aspectRatio: number;
}

/** Per layer, the (scale, aspect ratio) list of one cell (TF multiple_grid_anchor_generator). */
function tfBoxSpecs(spec: TfMultipleGridAnchorSpec): BoxSpec[][] {
  const n = spec.featureMaps.length;
  if (n === 0) badSpec('anchors.featureMaps', 'at least one feature map', spec.featureMaps);
  if (!(spec.minScale > 0) || !(spec.maxScale >= spec.minScale)) badSpec('anchors.minScale/maxScale', '0 < minScale <= maxScale', [spec.minScale, spec.maxScale]);
  if (spec.aspectRatios.length === 0 || spec.aspectRatios.some((a) => !(a > 0))) badSpec('anchors.aspectRatios', 'positive numbers', spec.aspectRatios);
  // Scales linear from min to max over the layers, plus 1.0 so the last layer has a "next"
  // scale for its interpolated anchor. A single layer uses minScale (TF divides by n - 1).
  const scales = spec.featureMaps.map((_, i) => (n === 1 ? spec.minScale : spec.minScale + ((spec.maxScale - spec.minScale) * i) / (n - 1)));
  scales.push(1.0);
  const interp = spec.interpolatedScaleAspectRatio ?? 0;
  return spec.featureMaps.map((_, i) => {
    const s = scales[i];
    if (i === 0 && spec.reduceBoxesInLowestLayer) {
      return [
        { scale: 0.1, aspectRatio: 1.0 },
        { scale: s, aspectRatio: 2.0 },
        { scale: s, aspectRatio: 0.5 },
      ];
    }
    const layer: BoxSpec[] = spec.aspectRatios.map((a) => ({ scale: s, aspectRatio: a }));
    if (interp > 0) {
      const extra = { scale: Math.sqrt(s * scales[i + 1]), aspectRatio: interp };
      // Older TF OD API: right after the aspect-1.0 anchor; newer API: last. With no 1.0 ratio
      // in the list, 'after-unit' has nowhere to go and falls back to last.
      const unit = spec.interpolatedPosition === 'after-unit' ? layer.findIndex((b) => b.aspectRatio === 1.0) : -1;
      if (unit >= 0) layer.splice(unit + 1, 0, extra);
      else layer.push(extra);
    }
    return layer;
  });
}

function tfMultipleGridAnchors(spec: TfMultipleGridAnchorSpec): Float32Array {
  const layers = tfBoxSpecs(spec);
  const [baseH, baseW] = spec.baseAnchorSize ?? [1.0, 1.0];
  const out = new Float32Array(anchorCount(spec) * 4);
  let k = 0;
  layers.forEach((boxes, li) => {
    const fm = spec.featureMaps[li];
    // Per-box h and w depend only on the spec, not the cell.
    const hs = boxes.map((b) => (b.scale / Math.sqrt(b.aspectRatio)) * baseH);
    const ws = boxes.map((b) => b.scale * Math.sqrt(b.aspectRatio) * baseW);
    for (let y = 0; y < fm; y++) {
      const cy = (y + 0.5) / fm;
      for (let x = 0; x < fm; x++) {
        const cx = (x + 0.5) / fm;
        for (let b = 0; b < boxes.length; b++) {
          out[k++] = cy;
          out[k++] = cx;
          out[k++] = hs[b];
          out[k++] = ws[b];
        }
      }
    }
  });
  return out;
}

function caffeBoxesPerCell(spec: CaffePriorBoxSpec, layer: number): number {
  const ratios = spec.aspectRatios[layer] ?? [];
  return 1 + (spec.maxSizes[layer] !== undefined ? 1 : 0) + ratios.length * (spec.flip ? 2 : 1);
}

function caffePriorBoxes(spec: CaffePriorBoxSpec): Float32Array {
  const n = spec.featureMaps.length;
  for (const [field, arr] of [['steps', spec.steps], ['minSizes', spec.minSizes], ['aspectRatios', spec.aspectRatios]] as const) {
    if (arr.length !== n) badSpec(`anchors.${field}`, `${n} entries (one per feature map)`, arr);
  }
  if (spec.maxSizes.length !== 0 && spec.maxSizes.length !== n) badSpec('anchors.maxSizes', `0 or ${n} entries`, spec.maxSizes);
  if (!(spec.imageSize > 0)) badSpec('anchors.imageSize', 'a positive number of pixels', spec.imageSize);
  const out = new Float32Array(anchorCount(spec) * 4);
  const size = spec.imageSize;
  let k = 0;
  const push = (cy: number, cx: number, h: number, w: number): void => {
    if (spec.clip) {
      // Caffe clips the corners, so a clipped anchor's center moves.
      const y1 = clamp01(cy - h / 2), y2 = clamp01(cy + h / 2);
      const x1 = clamp01(cx - w / 2), x2 = clamp01(cx + w / 2);
      cy = (y1 + y2) / 2; cx = (x1 + x2) / 2; h = y2 - y1; w = x2 - x1;
    }
    out[k++] = cy;
    out[k++] = cx;
    out[k++] = h;
    out[k++] = w;
  };
  for (let li = 0; li < n; li++) {
    const fm = spec.featureMaps[li];
    const step = spec.steps[li];
    const min = spec.minSizes[li] / size;
    const max = spec.maxSizes[li];
    // Caffe's ratio list: 1 (implicit), then each ar followed by 1/ar when flipping.
    const ratios: number[] = [];
    for (const ar of spec.aspectRatios[li]) {
      ratios.push(ar);
      if (spec.flip) ratios.push(1 / ar);
    }
    const big = max !== undefined ? Math.sqrt(spec.minSizes[li] * max) / size : 0;
    for (let y = 0; y < fm; y++) {
      const cy = ((y + spec.offset) * step) / size;
      for (let x = 0; x < fm; x++) {
        const cx = ((x + spec.offset) * step) / size;
        push(cy, cx, min, min);
        if (max !== undefined) push(cy, cx, big, big);
        for (const ar of ratios) {
          const r = Math.sqrt(ar);
          push(cy, cx, min / r, min * r);
        }
      }
    }
  }
  return out;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function badSpec(field: string, expected: string, received: unknown): never {
  throw new ModelError('E_MODEL', `${field}: expected ${expected}, received ${JSON.stringify(received)}`, {
    hint: 'fix the model descriptor\'s anchors section',
  });
}
