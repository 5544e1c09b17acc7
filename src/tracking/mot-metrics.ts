import { munkres } from 'munkres';
import { LinearAssignment } from './assignment.js';
import { boxIou } from './iou-matrix.js';

/*
 * Multi-object tracking metrics, as py-motmetrics computes them (and MOTChallenge reports):
 *
 * CLEAR MOT (Bernardin & Stiefelhagen 2008), per frame, with distance d = 1 - IoU and a pair
 * valid when IoU >= iouThreshold (0.5):
 *   1. a ground-truth object matched to hypothesis h in an earlier frame stays matched to h if
 *      h is present and the pair is still valid (no re-optimization of kept correspondences);
 *   2. the remaining objects and hypotheses are matched optimally (most valid pairs, then least
 *      total distance); a match whose object was last matched to another hypothesis is an
 *      ID switch (py-motmetrics' SWITCH, with no limit on the time since that match);
 *   3. unmatched objects are misses (FN), unmatched hypotheses false positives (FP).
 *   MOTA = 1 - (FN + FP + IDSW) / GT;  MOTP = mean d over matches, switches included
 *   (lower is better, py-motmetrics' convention).
 *
 * Identity metrics (Ristani et al. 2016): one global bipartite matching of ground-truth
 * trajectories to hypothesis trajectories maximizing IDTP, the number of frames where a
 * matched pair is present together and valid; then
 *   IDFN = GT - IDTP, IDFP = hypotheses - IDTP,
 *   IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN), IDP = IDTP / (IDTP + IDFP), IDR = IDTP / (IDTP + IDFN).
 * (The paper's min-cost formulation with "unmatched" dummies gives the same IDTP: pairing two
 * trajectories that never overlap costs exactly what leaving both unmatched costs.)
 *
 * Over several sequences the counts add up, then the ratios are recomputed (MOTChallenge's
 * "overall"); summarizeMot() does that.
 */

/** IoU a hypothesis needs with a ground-truth box to count as the same object (MOTChallenge's 0.5). */
export const DEFAULT_MOT_IOU = 0.5;

/** One ground-truth object or hypothesis in a frame: an id and a box [x1, y1, x2, y2]. */
export interface MotObject {
  readonly id: number;
  readonly box: ArrayLike<number>;
}

/** Event counts and the metrics derived from them. */
export interface MotSummary {
  readonly frames: number;
  /** Ground-truth boxes over all frames. */
  readonly gt: number;
  /** Hypothesis boxes over all frames. */
  readonly hypotheses: number;
  /** CLEAR MOT matches, switches not included. */
  readonly matches: number;
  readonly misses: number;
  readonly falsePositives: number;
  readonly idSwitches: number;
  /** Sum of d = 1 - IoU over matches and switches. */
  readonly distanceSum: number;
  readonly idtp: number;
  readonly idfp: number;
  readonly idfn: number;
  readonly mota: number;
  readonly motp: number;
  readonly idf1: number;
  readonly idp: number;
  readonly idr: number;
}

/** Collects CLEAR MOT events and identity overlaps over one sequence. */
export class MotAccumulator {
  private frames = 0;
  private gt = 0;
  private hyps = 0;
  private matches = 0;
  private misses = 0;
  private falsePositives = 0;
  private idSwitches = 0;
  private distanceSum = 0;
  /** Object id -> hypothesis id of its last match. */
  private readonly lastMatch = new Map<number, number>();
  private readonly gtCount = new Map<number, number>();
  private readonly hypCount = new Map<number, number>();
  /** Object id -> hypothesis id -> frames where the pair was valid. */
  private readonly overlap = new Map<number, Map<number, number>>();
  private readonly solver = new LinearAssignment();

  /** `iouThreshold`: a pair is valid when IoU >= it. */
  constructor(readonly iouThreshold = DEFAULT_MOT_IOU) {}

  /** Adds one frame from boxes: d = 1 - IoU, invalid (NaN) when IoU < iouThreshold. */
  update(truth: readonly MotObject[], hypotheses: readonly MotObject[]): void {
    const dist = new Float64Array(truth.length * hypotheses.length);
    for (let i = 0; i < truth.length; i++) {
      for (let j = 0; j < hypotheses.length; j++) {
        const iou = boxIou(truth[i].box, 0, hypotheses[j].box, 0);
        dist[i * hypotheses.length + j] = iou >= this.iouThreshold ? 1 - iou : NaN;
      }
    }
    this.updateDistances(
      truth.map((o) => o.id),
      hypotheses.map((h) => h.id),
      dist,
    );
  }

  /** Adds one frame from a distance matrix [objects, hypotheses], row-major; NaN marks invalid pairs. */
  updateDistances(objectIds: readonly number[], hypothesisIds: readonly number[], dist: ArrayLike<number>): void {
    const no = objectIds.length;
    const nh = hypothesisIds.length;
    this.frames++;
    this.gt += no;
    this.hyps += nh;
    for (const o of objectIds) this.gtCount.set(o, (this.gtCount.get(o) ?? 0) + 1);
    for (const h of hypothesisIds) this.hypCount.set(h, (this.hypCount.get(h) ?? 0) + 1);
    for (let i = 0; i < no; i++) {
      for (let j = 0; j < nh; j++) {
        if (Number.isNaN(dist[i * nh + j])) continue;
        let row = this.overlap.get(objectIds[i]);
        if (row === undefined) this.overlap.set(objectIds[i], (row = new Map()));
        row.set(hypothesisIds[j], (row.get(hypothesisIds[j]) ?? 0) + 1);
      }
    }

    const objectMatched = new Array<boolean>(no).fill(false);
    const hypMatched = new Array<boolean>(nh).fill(false);
    // 1. Keep earlier correspondences that are still present and valid.
    for (let i = 0; i < no; i++) {
      const h = this.lastMatch.get(objectIds[i]);
      if (h === undefined) continue;
      const j = hypothesisIds.findIndex((id, k) => id === h && !hypMatched[k]);
      if (j < 0 || Number.isNaN(dist[i * nh + j])) continue;
      objectMatched[i] = hypMatched[j] = true;
      this.matches++;
      this.distanceSum += dist[i * nh + j];
    }
    // 2. Optimal assignment of the rest; a changed correspondence is a switch.
    const rest = Float64Array.from(dist, (d, k) => (objectMatched[Math.floor(k / nh)] || hypMatched[k % nh] ? NaN : d));
    const rowToCol = new Int32Array(no);
    const colToRow = new Int32Array(nh);
    this.solver.solve(rest, no, nh, Infinity, rowToCol, colToRow);
    for (let i = 0; i < no; i++) {
      const j = rowToCol[i];
      if (j < 0) continue;
      const o = objectIds[i];
      const h = hypothesisIds[j];
      const previous = this.lastMatch.get(o);
      if (previous !== undefined && previous !== h) this.idSwitches++;
      else this.matches++;
      this.lastMatch.set(o, h);
      this.distanceSum += dist[i * nh + j];
      objectMatched[i] = hypMatched[j] = true;
    }
    // 3. What is left over.
    for (const m of objectMatched) if (!m) this.misses++;
    for (const m of hypMatched) if (!m) this.falsePositives++;
  }

  /** The metrics of everything added so far. */
  summary(): MotSummary {
    const idtp = this.identityTruePositives();
    return withRatios({
      frames: this.frames,
      gt: this.gt,
      hypotheses: this.hyps,
      matches: this.matches,
      misses: this.misses,
      falsePositives: this.falsePositives,
      idSwitches: this.idSwitches,
      distanceSum: this.distanceSum,
      idtp,
      idfp: this.hyps - idtp,
      idfn: this.gt - idtp,
    });
  }

  /** IDTP of the best global matching of trajectories (maximum total overlap). */
  private identityTruePositives(): number {
    const objects = [...this.overlap.keys()];
    const hypIds = [...new Set(objects.flatMap((o) => [...this.overlap.get(o)!.keys()]))];
    if (objects.length === 0 || hypIds.length === 0) return 0;
    let most = 0;
    for (const row of this.overlap.values()) for (const c of row.values()) most = Math.max(most, c);
    // Maximum weight via minimum cost most - overlap (>= 0); munkres pairs min(rows, cols) of them.
    const cost = objects.map((o) => {
      const row = this.overlap.get(o)!;
      return Float64Array.from(hypIds, (h) => most - (row.get(h) ?? 0));
    });
    let idtp = 0;
    for (const [a, b] of munkres(cost)) idtp += most - cost[a][b];
    return idtp;
  }
}

type MotCounts = Omit<MotSummary, 'mota' | 'motp' | 'idf1' | 'idp' | 'idr'>;

function withRatios(c: MotCounts): MotSummary {
  const ratio = (num: number, den: number): number => (den > 0 ? num / den : 0);
  return {
    ...c,
    mota: c.gt > 0 ? 1 - (c.misses + c.falsePositives + c.idSwitches) / c.gt : 0,
    motp: ratio(c.distanceSum, c.matches + c.idSwitches),
    idf1: ratio(2 * c.idtp, 2 * c.idtp + c.idfp + c.idfn),
    idp: ratio(c.idtp, c.idtp + c.idfp),
    idr: ratio(c.idtp, c.idtp + c.idfn),
  };
}

/** Sums the counts of several sequences and recomputes the ratios (MOTChallenge's overall). */
export function summarizeMot(summaries: readonly MotSummary[]): MotSummary {
  const keys = ['frames', 'gt', 'hypotheses', 'matches', 'misses', 'falsePositives', 'idSwitches', 'distanceSum', 'idtp', 'idfp', 'idfn'] as const;
  const total = Object.fromEntries(keys.map((k) => [k, summaries.reduce((acc, s) => acc + s[k], 0)])) as unknown as MotCounts;
  return withRatios(total);
}
