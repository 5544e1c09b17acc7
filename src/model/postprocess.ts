import { ModelError, OptionError } from '../errors.js';
import { generateAnchors } from './anchors.js';
import { decodeBox } from './box-coder.js';
import type { BoxCoderSpec, ModelDescriptor, ScoreSpec } from './descriptor.js';
import { DEFAULT_SOFT_NMS_SIGMA, multiClassNms, validateNmsOptions, type NmsCandidate } from './nms.js';

/** A detection in model-input coordinates: box [x1, y1, x2, y2] normalized to the model input, not clipped. */
export interface ModelDetection {
  classId: number;
  label: string;
  score: number;
  box: [number, number, number, number];
}

/** What decoding needs from the model, built once per model (see createPostprocessor). */
export interface PostprocessContext {
  /** [numAnchors, 4] as [cy, cx, h, w], normalized. */
  anchors: Float32Array;
  numAnchors: number;
  numClasses: number;
  coder: BoxCoderSpec;
  scores: ScoreSpec;
  /** One label per score column; null columns are never reported. */
  labels: (string | null)[];
}

/** Thresholds and NMS settings of decoding. */
export interface DecodeOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  /** NMS over all classes together instead of per class (default false). */
  classAgnostic?: boolean;
  /** 'hard' (default) or 'soft-gaussian'. */
  nms?: 'hard' | 'soft-gaussian';
  /** Gaussian soft-NMS sigma; default DEFAULT_SOFT_NMS_SIGMA. */
  sigma?: number;
}

/** Overrides of a descriptor's post-processing defaults (createPostprocessor's second argument). */
export type PostprocessOptions = Partial<DecodeOptions>;

/** Decodes one frame of raw outputs: (boxEncodings, classLogits, frameIndex) → detections. */
export type Postprocessor = (boxEncodings: Float32Array, classLogits: Float32Array, frameIndex: number) => ModelDetection[];

/**
 * Decodes one frame of an SSD's batched raw outputs into detections, best first.
 * boxEncodings: [batch, numAnchors, 4]; classLogits: [batch, numAnchors, numClasses] (logits,
 * before sigmoid/softmax); frameIndex picks the frame. Boxes are in model-input normalized
 * coordinates, not clipped (the caller clips and maps to the source frame).
 */
export function decodeDetections(
  boxEncodings: Float32Array,
  classLogits: Float32Array,
  frameIndex: number,
  ctx: PostprocessContext,
  opts: DecodeOptions,
): ModelDetection[] {
  const A = ctx.numAnchors;
  const C = ctx.numClasses;
  checkFrame(boxEncodings, A * 4, frameIndex, 'box encodings', `${A} x 4`);
  checkFrame(classLogits, A * C, frameIndex, 'class logits', `${A} x ${C}`);
  // Views of this frame's rows (no copy): [A, 4] and [A, C].
  const enc = boxEncodings.subarray(frameIndex * A * 4, (frameIndex + 1) * A * 4);
  const logits = classLogits.subarray(frameIndex * A * C, (frameIndex + 1) * A * C);
  const reported = reportedColumns(ctx);
  const candidates: NmsCandidate[] = [];
  const thr = opts.scoreThreshold;

  if (ctx.scores.activation === 'sigmoid') {
    // sigmoid is monotonic: compare logits with logit(threshold) and only exponentiate survivors.
    const logitThr = thr <= 0 ? -Infinity : thr >= 1 ? Infinity : Math.log(thr / (1 - thr));
    for (let a = 0; a < A; a++) {
      const row = a * C;
      for (const c of reported) {
        const l = logits[row + c];
        if (l >= logitThr) {
          const score = 1 / (1 + Math.exp(-l));
          // Guard against rounding right at the threshold so both sides agree.
          if (score >= thr) candidates.push({ boxIndex: a, classId: c, score });
        }
      }
    }
  } else {
    // softmax over all C columns (background included), one exp per column.
    const e = new Float64Array(C); // [C] exp(l_c - max) of the current anchor
    const logThr = Math.log(thr); // -Infinity at threshold 0
    for (let a = 0; a < A; a++) {
      const row = a * C;
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (logits[row + c] > max) max = logits[row + c];
      // sum >= 1, so p_c <= exp(l_c - max): an anchor whose best reported column is below
      // max + log(thr) has no candidate, and its exps are never needed (most background anchors).
      let best = -Infinity;
      for (const c of reported) if (logits[row + c] > best) best = logits[row + c];
      if (best - max < logThr) continue;
      let sum = 0;
      for (let c = 0; c < C; c++) sum += e[c] = Math.exp(logits[row + c] - max);
      const minE = thr * sum; // p_c >= thr  <=>  e_c >= thr * sum
      for (const c of reported) {
        if (e[c] >= minE) {
          const score = e[c] / sum;
          if (score >= thr) candidates.push({ boxIndex: a, classId: c, score });
        }
      }
    }
  }
  if (candidates.length === 0) return [];

  // Decode only the anchors that have a candidate; other rows of `boxes` are never read.
  const boxes = new Float32Array(A * 4); // [A, 4] x1y1x2y2
  const decoded = new Uint8Array(A);
  for (const cand of candidates) {
    const a = cand.boxIndex;
    if (!decoded[a]) {
      decodeBox(enc, ctx.anchors, a, ctx.coder, boxes, a * 4);
      decoded[a] = 1;
    }
  }
  const kept = multiClassNms(boxes, candidates, {
    iouThreshold: opts.iouThreshold,
    scoreThreshold: thr,
    maxDetections: opts.maxDetections,
    classAgnostic: opts.classAgnostic ?? false,
    method: opts.nms ?? 'hard',
    sigma: opts.sigma ?? DEFAULT_SOFT_NMS_SIGMA,
  });
  return kept.map((k) => {
    const o = k.boxIndex * 4;
    return { classId: k.classId, label: ctx.labels[k.classId] as string, score: k.score, box: [boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]] };
  });
}

/** Builds the decode context of a model once (anchors generated once) and returns a per-frame decoder. */
export function createPostprocessor(descriptor: ModelDescriptor, overrides: PostprocessOptions = {}): Postprocessor {
  const opts: DecodeOptions = { ...descriptor.postprocess, ...stripUndefined(overrides) };
  validateNmsOptions({ ...opts, method: opts.nms });
  if (opts.classAgnostic !== undefined && typeof opts.classAgnostic !== 'boolean') throw new OptionError('classAgnostic', 'a boolean', opts.classAgnostic);
  const anchors = generateAnchors(descriptor.anchors);
  const numClasses = descriptor.network.numClasses;
  if (descriptor.labels.length !== numClasses) {
    throw new ModelError('E_MODEL', `model ${descriptor.name}: labels has ${descriptor.labels.length} entries, expected network.numClasses = ${numClasses}`, {
      hint: 'give one label per score column, null for columns never reported',
    });
  }
  const ctx: PostprocessContext = {
    anchors,
    numAnchors: anchors.length / 4,
    numClasses,
    coder: descriptor.boxCoder,
    scores: descriptor.scores,
    labels: descriptor.labels,
  };
  return (boxEncodings, classLogits, frameIndex) => decodeDetections(boxEncodings, classLogits, frameIndex, ctx, opts);
}

/** Columns that are reported: labelled and not the background column. */
function reportedColumns(ctx: PostprocessContext): number[] {
  const cols: number[] = [];
  for (let c = 0; c < ctx.numClasses; c++) {
    if (ctx.labels[c] != null && c !== ctx.scores.backgroundClass) cols.push(c);
  }
  return cols;
}

function checkFrame(data: Float32Array, perFrame: number, frameIndex: number, what: string, shape: string): void {
  if (data.length % perFrame !== 0 || !Number.isInteger(frameIndex) || frameIndex < 0 || (frameIndex + 1) * perFrame > data.length) {
    throw new ModelError('E_MODEL', `${what}: expected [batch, ${shape}] holding frame ${frameIndex}, received ${data.length} values`, {
      hint: 'the model descriptor\'s anchors or numClasses do not match the network\'s outputs',
    });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
