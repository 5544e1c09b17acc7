import { checkOption } from '../config/validate.js';
import { OptionError } from '../errors.js';

/*
 * Non-maximum suppression over boxes [n, 4] as [x1, y1, x2, y2] (x1 <= x2, y1 <= y2; any
 * units, normalized in practice).
 *
 * - Candidates need score >= scoreThreshold.
 * - Greedy by descending score; equal scores keep the lower index first (stable).
 * - hard: a candidate is dropped when its IoU with an already selected box is > iouThreshold.
 * - soft-gaussian (Bodla et al. 2017): after each selection every remaining candidate's score
 *   is multiplied by exp(-iou^2 / sigma) (the paper's sigma; TF's soft_nms_sigma s is the
 *   paper's 2s); candidates whose IoU is > iouThreshold are still dropped outright, as TF does
 *   (iouThreshold 1 gives the paper's pure Gaussian decay), and candidates decayed below
 *   scoreThreshold are dropped.
 *
 * Cost: one sort, then O(n * selected) IoUs with precomputed areas.
 */

/** Gaussian soft-NMS sigma used when none is given (the paper's 0.5). */
export const DEFAULT_SOFT_NMS_SIGMA = 0.5;

/** Options of one NMS run. */
export interface NmsOptions {
  /** IoU above which a lower-scored box is suppressed (0..1). */
  iouThreshold: number;
  /** Minimum score of a candidate (and of a soft-NMS survivor). */
  scoreThreshold: number;
  /** At most this many boxes are selected. */
  maxDetections: number;
  /** 'hard' (default) or 'soft-gaussian'. */
  method?: 'hard' | 'soft-gaussian';
  /** Gaussian soft-NMS sigma (> 0); default DEFAULT_SOFT_NMS_SIGMA. */
  sigma?: number;
}

/** Options of a multi-class NMS run. */
export interface MultiClassNmsOptions extends NmsOptions {
  /** true: all classes compete in one NMS; false (default): NMS per class, then the best overall. */
  classAgnostic?: boolean;
  /** Minimum score by class id (of a candidate and of a soft-NMS survivor) in place of scoreThreshold. */
  classScoreThresholds?: ArrayLike<number>;
}

/** Selected boxes, best first. */
export interface NmsResult {
  /** Indices into the input boxes/scores. */
  readonly indices: Int32Array;
  /** Score of each selected box (decayed by soft-NMS; the input score for hard NMS). */
  readonly scores: Float64Array;
}

/** One scored box of one class, pointing into a boxes array. */
export interface NmsCandidate {
  readonly boxIndex: number;
  readonly classId: number;
  readonly score: number;
}

/** Checks NMS options once (when a stage is built); throws OptionError on the first bad one. */
export function validateNmsOptions(opts: MultiClassNmsOptions): void {
  // The same rules and names as the user-facing options (--iou, --score, --max-detections).
  checkOption('iou', opts.iouThreshold);
  checkOption('score', opts.scoreThreshold);
  if (opts.maxDetections !== Infinity) checkOption('maxDetections', opts.maxDetections);
  if (opts.method !== undefined && opts.method !== 'hard' && opts.method !== 'soft-gaussian') {
    throw new OptionError('nms', '"hard" or "soft-gaussian"', opts.method);
  }
  if (opts.sigma !== undefined && !(opts.sigma > 0 && Number.isFinite(opts.sigma))) throw new OptionError('sigma', 'a positive number', opts.sigma);
}

/** IoU of boxes a and b of a [n, 4] x1y1x2y2 array; 0 when the union is empty. */
export function boxIou(boxes: ArrayLike<number>, a: number, b: number): number {
  const ao = a * 4, bo = b * 4;
  const ax1 = boxes[ao], ay1 = boxes[ao + 1], ax2 = boxes[ao + 2], ay2 = boxes[ao + 3];
  const bx1 = boxes[bo], by1 = boxes[bo + 1], bx2 = boxes[bo + 2], by2 = boxes[bo + 3];
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1) + Math.max(0, bx2 - bx1) * Math.max(0, by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy NMS over boxes [n, 4] (x1y1x2y2) and scores [n]: selected indices, best first. */
export function nonMaxSuppression(boxes: ArrayLike<number>, scores: ArrayLike<number>, opts: NmsOptions): NmsResult {
  const n = scores.length;
  const boxIdx = new Int32Array(n);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    boxIdx[i] = i;
    s[i] = scores[i];
  }
  const order = sortedCandidates(s, opts.scoreThreshold);
  const picked = runNms(boxes, boxIdx, s, order, opts);
  return { indices: picked.positions, scores: picked.scores };
}

/**
 * NMS over scored boxes of several classes. Per class (default): each class is suppressed on
 * its own, then the best maxDetections overall are kept. classAgnostic: one NMS over all.
 * Returns the selected candidates (new objects; soft-NMS scores decayed), best first.
 */
export function multiClassNms(boxes: ArrayLike<number>, candidates: readonly NmsCandidate[], opts: MultiClassNmsOptions): NmsCandidate[] {
  const m = candidates.length;
  const boxIdx = new Int32Array(m);
  const s = new Float64Array(m);
  const cls = new Int32Array(m);
  // Each candidate's minimum score, when classes have their own.
  const minS = opts.classScoreThresholds ? new Float64Array(m) : undefined;
  for (let i = 0; i < m; i++) {
    boxIdx[i] = candidates[i].boxIndex;
    s[i] = candidates[i].score;
    cls[i] = opts.classAgnostic ? 0 : candidates[i].classId;
    if (minS) minS[i] = opts.classScoreThresholds![candidates[i].classId] ?? opts.scoreThreshold;
  }
  const order = sortedCandidates(s, minS ?? opts.scoreThreshold);
  const out: { pos: number; score: number }[] = [];
  if (opts.classAgnostic || (opts.method ?? 'hard') === 'hard') {
    // Hard NMS keeps scores, so one pass in global score order, each candidate checked against
    // its own class's selections, gives the per-class result already sorted, and can stop at
    // maxDetections in total.
    const picked = runNms(boxes, boxIdx, s, order, opts, cls, minS);
    for (let k = 0; k < picked.positions.length; k++) out.push({ pos: picked.positions[k], score: picked.scores[k] });
  } else {
    // Soft-NMS per class: decayed scores reorder, so each class runs on its own, then merge.
    const byClass = new Map<number, number[]>();
    for (const p of order) {
      let list = byClass.get(cls[p]);
      if (!list) byClass.set(cls[p], (list = []));
      list.push(p);
    }
    for (const list of byClass.values()) {
      const picked = runNms(boxes, boxIdx, s, Int32Array.from(list), opts, undefined, minS);
      for (let k = 0; k < picked.positions.length; k++) out.push({ pos: picked.positions[k], score: picked.scores[k] });
    }
    out.sort((a, b) => b.score - a.score || a.pos - b.pos);
    if (out.length > opts.maxDetections) out.length = opts.maxDetections;
  }
  return out.map(({ pos, score }) => ({ boxIndex: candidates[pos].boxIndex, classId: candidates[pos].classId, score }));
}

/** Positions with score >= threshold (one for all, or each position's own), sorted by descending score, ties by ascending position. */
function sortedCandidates(s: Float64Array, scoreThreshold: number | Float64Array): Int32Array {
  let m = 0;
  const order = new Int32Array(s.length);
  for (let i = 0; i < s.length; i++) if (s[i] >= (typeof scoreThreshold === 'number' ? scoreThreshold : scoreThreshold[i])) order[m++] = i;
  return order.subarray(0, m).sort((a, b) => s[b] - s[a] || a - b);
}

interface Picked {
  positions: Int32Array;
  scores: Float64Array;
}

/**
 * NMS over candidate positions `order` (sorted best first). Position p's box is row boxIdx[p]
 * of boxes, its score s[p]. s is left unchanged (soft-NMS decays a copy). Hard NMS only:
 * with cls, a candidate is only suppressed by selected candidates of its own class cls[p].
 * Soft-NMS only: with minS, position p is dropped when decayed below minS[p] (else scoreThreshold).
 */
function runNms(boxes: ArrayLike<number>, boxIdx: Int32Array, s: Float64Array, order: Int32Array, opts: NmsOptions, cls?: Int32Array, minS?: Float64Array): Picked {
  const m = order.length;
  const cap = Math.max(0, Math.min(m, opts.maxDetections));
  // Candidates' coordinates and areas gathered once into contiguous arrays (cache friendly).
  const x1 = new Float64Array(m), y1 = new Float64Array(m), x2 = new Float64Array(m), y2 = new Float64Array(m), area = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const o = boxIdx[order[k]] * 4;
    x1[k] = boxes[o];
    y1[k] = boxes[o + 1];
    x2[k] = boxes[o + 2];
    y2[k] = boxes[o + 3];
    area[k] = Math.max(0, x2[k] - x1[k]) * Math.max(0, y2[k] - y1[k]);
  }
  const iouK = (a: number, b: number): number => {
    const iw = Math.min(x2[a], x2[b]) - Math.max(x1[a], x1[b]);
    if (iw <= 0) return 0;
    const ih = Math.min(y2[a], y2[b]) - Math.max(y1[a], y1[b]);
    if (ih <= 0) return 0;
    const inter = iw * ih;
    const union = area[a] + area[b] - inter;
    return union > 0 ? inter / union : 0;
  };
  const selK = new Int32Array(cap);
  const selScore = new Float64Array(cap);
  let nsel = 0;
  const thr = opts.iouThreshold;

  if ((opts.method ?? 'hard') === 'hard') {
    // Per class, the rank ks selected so far (a single list without classes).
    const single: number[] = [];
    const byClass = new Map<number, number[]>();
    for (let k = 0; k < m && nsel < cap; k++) {
      let sel = single;
      if (cls) {
        const c = cls[order[k]];
        const found = byClass.get(c);
        if (found) sel = found;
        else byClass.set(c, (sel = []));
      }
      let keep = true;
      for (let j = 0; j < sel.length; j++) {
        if (iouK(k, sel[j]) > thr) {
          keep = false;
          break;
        }
      }
      if (keep) {
        sel.push(k);
        selK[nsel] = k;
        selScore[nsel++] = s[order[k]];
      }
    }
  } else {
    const sigma = opts.sigma ?? DEFAULT_SOFT_NMS_SIGMA;
    const minScore = opts.scoreThreshold;
    // alive: sorted-rank ks of the remaining candidates, kept in rank order so that equal
    // scores resolve to the lower rank (= lower input index among equal initial scores).
    const alive = new Int32Array(m);
    const cur = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      alive[k] = k;
      cur[k] = s[order[k]];
    }
    let nAlive = m;
    let best = m > 0 ? 0 : -1; // position in alive of the current best
    while (nsel < cap && best >= 0) {
      const b = alive[best];
      selK[nsel] = b;
      selScore[nsel++] = cur[b];
      // One pass: decay, drop, compact, and find the next best.
      let w = 0;
      let next = -1;
      let nextScore = -Infinity;
      for (let r = 0; r < nAlive; r++) {
        const k = alive[r];
        if (k === b) continue;
        const iou = iouK(b, k);
        if (iou > thr) continue;
        if (iou > 0) {
          cur[k] *= Math.exp((-iou * iou) / sigma);
          if (cur[k] < (minS ? minS[order[k]] : minScore)) continue;
        }
        // Equal decayed scores: ties go to the lower input position, as in hard NMS.
        if (cur[k] > nextScore || (cur[k] === nextScore && order[k] < order[alive[next]])) {
          next = w;
          nextScore = cur[k];
        }
        alive[w++] = k;
      }
      nAlive = w;
      best = next;
    }
  }
  const positions = new Int32Array(nsel);
  for (let j = 0; j < nsel; j++) positions[j] = order[selK[j]];
  return { positions, scores: selScore.slice(0, nsel) };
}
