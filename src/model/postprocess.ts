import { ModelError, OptionError } from '../errors.js';
import { anchorCount, generateAnchors } from './anchors.js';
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
  /** [numAnchors, 4] as [cy, cx, h, w], normalized; empty for coder 'none' (boxes come decoded). */
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
  /** Score columns to report (class ids); default every labelled non-background column. */
  classes?: readonly number[];
  /** Minimum score by class id, in place of scoreThreshold for that class. */
  classScores?: ReadonlyMap<number, number>;
}

/**
 * Overrides of a descriptor's post-processing defaults (createPostprocessor's second argument),
 * with classes named by label (or class id) as the user writes them.
 */
export type PostprocessOptions = Partial<Omit<DecodeOptions, 'classes' | 'classScores'>> & {
  /** Classes to report, by label or class id (--classes); default all. */
  classes?: readonly (string | number)[];
  /** Minimum score by label or class id (--class-scores), in place of scoreThreshold. */
  classScores?: Readonly<Record<string, number>>;
};

/** Decodes one frame of raw outputs: (boxEncodings, classLogits, frameIndex) → detections. */
export type Postprocessor = (boxEncodings: Float32Array, classLogits: Float32Array, frameIndex: number) => ModelDetection[];

/**
 * Decodes one frame of an SSD's batched raw outputs into detections, best first.
 * boxEncodings: [batch, numAnchors, 4]; classLogits: [batch, numAnchors, numClasses] (logits,
 * before sigmoid/softmax); for a network that decodes its own boxes (coder and activation
 * 'none'), decoded boxes [ymin, xmin, ymax, xmax] and probabilities. frameIndex picks the frame. Boxes are in model-input normalized
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
  // Filtered-out classes' columns are never read; [C] minimum score of each column.
  const reported = reportedColumns(ctx, opts.classes);
  const thrOf = columnThresholds(C, opts);
  const candidates: NmsCandidate[] = [];
  // The lowest threshold of any reported column: what NMS needs to keep every candidate.
  let thr = opts.scoreThreshold;
  for (const c of reported) thr = Math.min(thr, thrOf[c]);

  if (ctx.scores.activation === 'none') {
    // Probabilities already (the network's own sigmoid): compared as they are.
    for (let a = 0; a < A; a++) {
      const row = a * C;
      for (const c of reported) {
        const score = logits[row + c];
        if (score >= thrOf[c]) candidates.push({ boxIndex: a, classId: c, score });
      }
    }
  } else if (ctx.scores.activation === 'sigmoid') {
    // sigmoid is monotonic: compare logits with logit(threshold) and only exponentiate survivors.
    const logitThr = reported.map((c) => logit(thrOf[c])); // per reported column
    for (let a = 0; a < A; a++) {
      const row = a * C;
      for (let k = 0; k < reported.length; k++) {
        const c = reported[k];
        const l = logits[row + c];
        if (l >= logitThr[k]) {
          const score = 1 / (1 + Math.exp(-l));
          // Guard against rounding right at the threshold so both sides agree.
          if (score >= thrOf[c]) candidates.push({ boxIndex: a, classId: c, score });
        }
      }
    }
  } else {
    // softmax over all C columns (background included), one exp per column.
    const e = new Float64Array(C); // [C] exp(l_c - max) of the current anchor
    const logThr = reported.map((c) => Math.log(thrOf[c])); // per reported column; -Infinity at 0
    for (let a = 0; a < A; a++) {
      const row = a * C;
      let max = -Infinity;
      for (let c = 0; c < C; c++) if (logits[row + c] > max) max = logits[row + c];
      // sum >= 1, so p_c <= exp(l_c - max): an anchor with no reported column at or above
      // max + log(thr_c) has no candidate, and its exps are never needed (most background anchors).
      let any = false;
      for (let k = 0; k < reported.length && !any; k++) any = logits[row + reported[k]] - max >= logThr[k];
      if (!any) continue;
      let sum = 0;
      for (let c = 0; c < C; c++) sum += e[c] = Math.exp(logits[row + c] - max);
      for (const c of reported) {
        // p_c >= thr_c  <=>  e_c >= thr_c * sum
        if (e[c] >= thrOf[c] * sum) {
          const score = e[c] / sum;
          if (score >= thrOf[c]) candidates.push({ boxIndex: a, classId: c, score });
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
    // Soft-NMS drops a decayed candidate below its own class's threshold.
    ...(opts.classScores?.size ? { classScoreThresholds: thrOf } : {}),
  });
  return kept.map((k) => {
    const o = k.boxIndex * 4;
    return { classId: k.classId, label: ctx.labels[k.classId] as string, score: k.score, box: [boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]] };
  });
}

/** Builds the decode context of a model once (anchors generated once) and returns a per-frame decoder. */
export function createPostprocessor(descriptor: ModelDescriptor, overrides: PostprocessOptions = {}): Postprocessor {
  const { classes, classScores, ...rest } = overrides;
  const base: DecodeOptions = { ...descriptor.postprocess, ...stripUndefined(rest) };
  validateNmsOptions({ ...base, method: base.nms });
  if (base.classAgnostic !== undefined && typeof base.classAgnostic !== 'boolean') throw new OptionError('classAgnostic', 'a boolean', base.classAgnostic);
  const anchors = generateAnchors(descriptor.anchors);
  const numClasses = descriptor.network.numClasses;
  if (descriptor.labels.length !== numClasses) {
    throw new ModelError('E_MODEL', `model ${descriptor.name}: labels has ${descriptor.labels.length} entries, expected network.numClasses = ${numClasses}`, {
      hint: 'give one label per score column, null for columns never reported',
    });
  }
  const opts: DecodeOptions = { ...base, ...resolveClassOptions(descriptor, { classes, classScores }) };
  const ctx: PostprocessContext = {
    anchors,
    // Without anchors (boxes come decoded) the count is the descriptor's.
    numAnchors: descriptor.anchors.type === 'none' ? anchorCount(descriptor.anchors) : anchors.length / 4,
    numClasses,
    coder: descriptor.boxCoder,
    scores: descriptor.scores,
    labels: descriptor.labels,
  };
  return (boxEncodings, classLogits, frameIndex) => decodeDetections(boxEncodings, classLogits, frameIndex, ctx, opts);
}

/** Columns that are reported: labelled, not the background column, and among `only` when given. */
function reportedColumns(ctx: PostprocessContext, only: readonly number[] | undefined): number[] {
  const cols: number[] = [];
  for (let c = 0; c < ctx.numClasses; c++) {
    if (ctx.labels[c] != null && c !== ctx.scores.backgroundClass && (!only || only.includes(c))) cols.push(c);
  }
  return cols;
}

/** [C] minimum score of each column: its classScores entry, else scoreThreshold. */
function columnThresholds(numClasses: number, opts: DecodeOptions): Float64Array {
  const thr = new Float64Array(numClasses).fill(opts.scoreThreshold);
  if (opts.classScores) for (const [c, s] of opts.classScores) if (c >= 0 && c < numClasses) thr[c] = s;
  return thr;
}

/** logit(p), with the ends at -Infinity and Infinity. */
function logit(p: number): number {
  return p <= 0 ? -Infinity : p >= 1 ? Infinity : Math.log(p / (1 - p));
}

/**
 * Turns --classes and --class-scores, written with labels or class ids, into score columns,
 * checked once against the model's labels: an unknown label is an OptionError that lists them.
 */
export function resolveClassOptions(
  descriptor: Pick<ModelDescriptor, 'name' | 'labels' | 'scores'>,
  options: Pick<PostprocessOptions, 'classes' | 'classScores'>,
): Pick<DecodeOptions, 'classes' | 'classScores'> {
  const out: Pick<DecodeOptions, 'classes' | 'classScores'> = {};
  if (options.classes !== undefined) {
    if (!Array.isArray(options.classes) || options.classes.length === 0) throw new OptionError('--classes', 'a non-empty list of labels or class ids', options.classes);
    out.classes = [...new Set(options.classes.map((name) => classColumn(descriptor, '--classes', name)))];
  }
  if (options.classScores !== undefined) {
    if (typeof options.classScores !== 'object' || options.classScores === null) throw new OptionError('--class-scores', 'an object of label: score', options.classScores);
    const scores = new Map<number, number>();
    for (const [name, score] of Object.entries(options.classScores)) {
      if (typeof score !== 'number' || !(score >= 0 && score <= 1)) throw new OptionError('--class-scores', 'scores in [0, 1]', `${name}=${String(score)}`);
      scores.set(classColumn(descriptor, '--class-scores', name), score);
    }
    out.classScores = scores;
  }
  return out;
}

/** The score column a label or class id names: an exact label, a label in another case, or an id. */
function classColumn(d: Pick<ModelDescriptor, 'name' | 'labels' | 'scores'>, option: string, name: string | number): number {
  const reportable = (c: number): boolean => Number.isInteger(c) && c >= 0 && c < d.labels.length && d.labels[c] != null && c !== d.scores.backgroundClass;
  if (typeof name === 'string') {
    const exact = d.labels.findIndex((l, c) => l === name && reportable(c));
    if (exact >= 0) return exact;
    const folded = d.labels.flatMap((l, c) => (l != null && reportable(c) && l.toLowerCase() === name.trim().toLowerCase() ? [c] : []));
    if (folded.length === 1) return folded[0];
  }
  const id = typeof name === 'number' ? name : /^\s*\d+\s*$/.test(name) ? Number(name) : NaN;
  if (reportable(id)) return id;
  const known = d.labels.flatMap((l, c) => (l != null && reportable(c) ? [`${l} (${c})`] : []));
  throw new OptionError(
    option,
    `a label or class id of model ${d.name}: ${known.join(', ')}`,
    name,
    `labels are the model's own (a .tflite model's come from its metadata or --labels)`,
  );
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
