import { expect } from 'chai';
import { OptionError } from '../../src/errors.js';
import { boxIou, multiClassNms, nonMaxSuppression, validateNmsOptions, type NmsOptions } from '../../src/model/nms.js';

/** Flattens [x1, y1, x2, y2] rows into a Float32Array [n, 4]. */
const boxesOf = (rows: number[][]): Float32Array => new Float32Array(rows.flat());

// Set A (pixels; NMS does not care about units):
//   0: [0,0,10,10]   0.9
//   1: [1,0,11,10]   0.7   IoU(0,1) = 90/110 = 0.818
//   2: [20,20,30,30] 0.8   disjoint from 0, 1, 3
//   3: [5,0,15,10]   0.85  IoU(0,3) = 50/150 = 1/3, IoU(1,3) = 60/140 = 0.4286
//   4: [20,20,30,30] 0.8   same box and score as 2 (a tie)
//   5: [50,50,60,60] 0.1   below the score threshold
const A_BOXES = boxesOf([
  [0, 0, 10, 10],
  [1, 0, 11, 10],
  [20, 20, 30, 30],
  [5, 0, 15, 10],
  [20, 20, 30, 30],
  [50, 50, 60, 60],
]);
const A_SCORES = new Float32Array([0.9, 0.7, 0.8, 0.85, 0.8, 0.1]);

const hard = (iouThreshold: number, extra: Partial<NmsOptions> = {}): NmsOptions => ({
  iouThreshold,
  scoreThreshold: 0.3,
  maxDetections: 100,
  method: 'hard',
  ...extra,
});

describe('nms', () => {
  describe('boxIou', () => {
    it('golden IoUs', () => {
      expect(boxIou(A_BOXES, 0, 1)).to.be.closeTo(90 / 110, 1e-12);
      expect(boxIou(A_BOXES, 0, 3)).to.equal(50 / 150);
      expect(boxIou(A_BOXES, 2, 4)).to.equal(1);
      expect(boxIou(A_BOXES, 0, 2)).to.equal(0);
      // touching edges do not overlap; empty boxes have IoU 0
      expect(boxIou(boxesOf([[0, 0, 1, 1], [1, 0, 2, 1]]), 0, 1)).to.equal(0);
      expect(boxIou(boxesOf([[0, 0, 0, 0], [0, 0, 0, 0]]), 0, 1)).to.equal(0);
    });
  });

  describe('nonMaxSuppression, hard', () => {
    const table: [string, NmsOptions, number[]][] = [
      // order by score: 0 (.9), 3 (.85), 2 (.8), 4 (.8, tie: after 2), 1 (.7); 5 below threshold
      ['IoU 0.5: 1 and 4 suppressed', hard(0.5), [0, 3, 2]],
      ['IoU 0.3: 3 also suppressed by 0 (1/3 > 0.3)', hard(0.3), [0, 2]],
      ['IoU exactly 1/3: 3 kept (suppression needs IoU > threshold)', hard(1 / 3), [0, 3, 2]],
      ['IoU 0.9: 1 kept (0.818), duplicate 4 still suppressed', hard(0.9), [0, 3, 2, 1]],
      ['IoU 1: nothing suppressed, ties in index order', hard(1), [0, 3, 2, 4, 1]],
      ['maxDetections 2', hard(0.5, { maxDetections: 2 }), [0, 3]],
      ['score threshold is inclusive (0.85 keeps 3)', hard(0.5, { scoreThreshold: 0.85 }), [0, 3]],
      ['score threshold 0 admits 5', hard(0.5, { scoreThreshold: 0 }), [0, 3, 2, 5]],
    ];
    for (const [name, opts, want] of table) {
      it(name, () => {
        const r = nonMaxSuppression(A_BOXES, A_SCORES, opts);
        expect(Array.from(r.indices)).to.deep.equal(want);
        expect(Array.from(r.scores)).to.deep.equal(want.map((i) => A_SCORES[i]));
      });
    }

    it('equal scores keep the lower index whichever comes first in memory', () => {
      const boxes = boxesOf([[0, 0, 1, 1], [5, 5, 6, 6], [0, 0, 1, 1], [5, 5, 6, 6]]);
      const r = nonMaxSuppression(boxes, [0.5, 0.5, 0.5, 0.5], hard(0.5));
      expect(Array.from(r.indices)).to.deep.equal([0, 1]);
    });

    it('does not change its inputs and handles no candidates', () => {
      const scores = A_SCORES.slice();
      nonMaxSuppression(A_BOXES, scores, { ...hard(0.5), method: 'soft-gaussian' });
      expect(scores).to.deep.equal(A_SCORES);
      const r = nonMaxSuppression(A_BOXES, A_SCORES, hard(0.5, { scoreThreshold: 0.99 }));
      expect(r.indices.length).to.equal(0);
      expect(nonMaxSuppression(new Float32Array(0), [], hard(0.5)).indices.length).to.equal(0);
    });
  });

  describe('nonMaxSuppression, soft-gaussian (score *= exp(-iou^2 / sigma))', () => {
    // b0 [0,0,10,10] .9; b1 [5,0,15,10] .8; b2 [0,5,10,15] .7; b3 [30,30,40,40] .6
    // IoU(b0,b1) = IoU(b0,b2) = 50/150 = 1/3; IoU(b1,b2) = 25/175 = 1/7; b3 disjoint.
    const boxes = boxesOf([[0, 0, 10, 10], [5, 0, 15, 10], [0, 5, 10, 15], [30, 30, 40, 40]]);
    const scores = [0.9, 0.8, 0.7, 0.6];
    const soft = (extra: Partial<NmsOptions> = {}): NmsOptions => ({
      iouThreshold: 1,
      scoreThreshold: 0.001,
      maxDetections: 100,
      method: 'soft-gaussian',
      sigma: 0.5,
      ...extra,
    });
    const d9 = Math.exp(-(1 / 9) / 0.5); // decay for IoU 1/3: e^(-2/9) = 0.800737
    const d49 = Math.exp(-(1 / 49) / 0.5); // decay for IoU 1/7: e^(-2/49) = 0.960005

    it('decays overlapping scores and reorders: b1 0.6406 > b3 0.6 > b2 0.5381', () => {
      // step 1: pick b0; b1 → 0.8 d9 = 0.640590, b2 → 0.7 d9 = 0.560516
      // step 2: pick b1; b2 → 0.560516 d49 = 0.538098; step 3: b3 (0.6); step 4: b2
      const r = nonMaxSuppression(boxes, scores, soft());
      expect(Array.from(r.indices)).to.deep.equal([0, 1, 3, 2]);
      const want = [0.9, 0.8 * d9, 0.6, 0.7 * d9 * d49];
      Array.from(r.scores).forEach((s, k) => expect(s).to.be.closeTo(want[k], 1e-7));
      expect(r.scores[1]).to.be.closeTo(0.640590, 1e-6);
      expect(r.scores[3]).to.be.closeTo(0.538098, 1e-6);
    });
    it('drops candidates decayed below the score threshold', () => {
      // b2 after two decays is 0.538 < 0.55; after one it was 0.5605 (kept then)
      const r = nonMaxSuppression(boxes, scores, soft({ scoreThreshold: 0.55 }));
      expect(Array.from(r.indices)).to.deep.equal([0, 1, 3]);
    });
    it('still removes candidates above the IoU threshold outright (TF semantics)', () => {
      const r = nonMaxSuppression(boxes, scores, soft({ iouThreshold: 0.3 }));
      expect(Array.from(r.indices)).to.deep.equal([0, 3]);
      expect(Array.from(r.scores)).to.deep.equal([0.9, 0.6]);
    });
    it('a smaller sigma decays harder', () => {
      const r = nonMaxSuppression(boxes, scores, soft({ sigma: 0.1 }));
      // b1 → 0.8 e^(-10/9) = 0.263562, b2 → 0.7 e^(-10/9) = 0.230617, then b1 picks, b2 → *e^(-10/49)
      expect(Array.from(r.indices)).to.deep.equal([0, 3, 1, 2]);
      expect(r.scores[2]).to.be.closeTo(0.8 * Math.exp(-10 / 9), 1e-7);
      expect(r.scores[3]).to.be.closeTo(0.7 * Math.exp(-10 / 9) * Math.exp(-10 / 49), 1e-7);
    });
    it('maxDetections caps the result', () => {
      expect(Array.from(nonMaxSuppression(boxes, scores, soft({ maxDetections: 2 })).indices)).to.deep.equal([0, 1]);
    });
  });

  describe('against a naive reference on random boxes', () => {
    function randomSet(n: number, seed: number): { boxes: Float32Array; scores: Float32Array } {
      let s = seed;
      const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
      const boxes = new Float32Array(n * 4);
      const scores = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = rand() * 0.8, y = rand() * 0.8;
        boxes.set([x, y, x + 0.02 + rand() * 0.2, y + 0.02 + rand() * 0.2], i * 4);
        // coarse scores so that ties happen
        scores[i] = Math.round(rand() * 50) / 50;
      }
      return { boxes, scores };
    }
    function naive(boxes: Float32Array, scores: Float32Array, o: NmsOptions): { idx: number[]; sc: number[] } {
      const cur = Array.from(scores, (v) => v);
      let alive = cur.map((_, i) => i).filter((i) => cur[i] >= o.scoreThreshold);
      const idx: number[] = [];
      const sc: number[] = [];
      while (alive.length > 0 && idx.length < o.maxDetections) {
        let best = alive[0];
        for (const i of alive) if (cur[i] > cur[best] || (cur[i] === cur[best] && i < best)) best = i;
        idx.push(best);
        sc.push(cur[best]);
        alive = alive.filter((i) => {
          if (i === best) return false;
          const iou = boxIou(boxes, best, i);
          if (iou > o.iouThreshold) return false;
          if (o.method === 'soft-gaussian') cur[i] *= Math.exp((-iou * iou) / (o.sigma ?? 0.5));
          return cur[i] >= o.scoreThreshold;
        });
      }
      return { idx, sc };
    }
    for (const method of ['hard', 'soft-gaussian'] as const) {
      it(`${method}: same selection and scores on 5 random sets of 300 boxes`, () => {
        for (let t = 0; t < 5; t++) {
          const { boxes, scores } = randomSet(300, 7 + t);
          const o: NmsOptions = { iouThreshold: method === 'hard' ? 0.4 : 0.7, scoreThreshold: 0.2, maxDetections: 60, method, sigma: 0.3 };
          const r = nonMaxSuppression(boxes, scores, o);
          const ref = naive(boxes, scores, o);
          expect(Array.from(r.indices)).to.deep.equal(ref.idx);
          Array.from(r.scores).forEach((v, k) => expect(v).to.be.closeTo(ref.sc[k], 1e-12));
          expect(r.indices.length).to.be.above(10);
        }
      });
    }
  });

  describe('multiClassNms against per-class nonMaxSuppression on random boxes', () => {
    for (const method of ['hard', 'soft-gaussian'] as const) {
      it(`${method}: equals running each class alone, then keeping the best overall`, () => {
        let seed = 99;
        const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
        const n = 400;
        const boxes = new Float32Array(n * 4);
        for (let i = 0; i < n; i++) {
          const x = rand() * 0.7, y = rand() * 0.7;
          boxes.set([x, y, x + 0.05 + rand() * 0.25, y + 0.05 + rand() * 0.25], i * 4);
        }
        // 1200 candidates over 5 classes, several per box
        const cands = Array.from({ length: 1200 }, () => ({ boxIndex: Math.floor(rand() * n), classId: Math.floor(rand() * 5), score: Math.round(rand() * 100) / 100 }));
        const o = { iouThreshold: 0.45, scoreThreshold: 0.1, maxDetections: 40, method, sigma: 0.5 };
        const want: { pos: number; score: number }[] = [];
        for (let c = 0; c < 5; c++) {
          const pos = cands.map((_, i) => i).filter((i) => cands[i].classId === c);
          // one box row per candidate so that nonMaxSuppression's indices are candidate positions
          const b = new Float32Array(pos.length * 4);
          pos.forEach((p, k) => b.set(boxes.subarray(cands[p].boxIndex * 4, cands[p].boxIndex * 4 + 4), k * 4));
          const r = nonMaxSuppression(b, pos.map((p) => cands[p].score), o);
          r.indices.forEach((k, j) => want.push({ pos: pos[k], score: r.scores[j] }));
        }
        want.sort((a, b) => b.score - a.score || a.pos - b.pos);
        const got = multiClassNms(boxes, cands, o);
        expect(got).to.have.length(40);
        expect(got).to.deep.equal(want.slice(0, 40).map(({ pos, score }) => ({ boxIndex: cands[pos].boxIndex, classId: cands[pos].classId, score })));
      });
    }
  });

  describe('multiClassNms', () => {
    // box 0 [0,0,10,10], box 1 [1,0,11,10]: IoU 0.818
    const boxes = boxesOf([[0, 0, 10, 10], [1, 0, 11, 10]]);
    const cands = [
      { boxIndex: 0, classId: 1, score: 0.9 },
      { boxIndex: 1, classId: 1, score: 0.8 },
      { boxIndex: 1, classId: 2, score: 0.85 },
      { boxIndex: 0, classId: 2, score: 0.3 },
    ];
    const opts = { iouThreshold: 0.5, scoreThreshold: 0.2, maxDetections: 10 };
    it('per class: each class keeps its own best box, results sorted by score', () => {
      expect(multiClassNms(boxes, cands, opts)).to.deep.equal([
        { boxIndex: 0, classId: 1, score: 0.9 },
        { boxIndex: 1, classId: 2, score: 0.85 },
      ]);
    });
    it('class-agnostic: classes suppress each other', () => {
      expect(multiClassNms(boxes, cands, { ...opts, classAgnostic: true })).to.deep.equal([{ boxIndex: 0, classId: 1, score: 0.9 }]);
    });
    it('maxDetections applies to the total; score threshold applies first', () => {
      expect(multiClassNms(boxes, cands, { ...opts, maxDetections: 1 })).to.deep.equal([{ boxIndex: 0, classId: 1, score: 0.9 }]);
      expect(multiClassNms(boxes, cands, { ...opts, iouThreshold: 1, scoreThreshold: 0.5 }).map((c) => c.score)).to.deep.equal([0.9, 0.85, 0.8]);
    });
    it('equal scores across classes: lower candidate index first', () => {
      const tie = [
        { boxIndex: 1, classId: 7, score: 0.5 },
        { boxIndex: 0, classId: 3, score: 0.5 },
      ];
      expect(multiClassNms(boxes, tie, opts).map((c) => c.classId)).to.deep.equal([7, 3]);
    });
    it('soft-NMS per class decays only within a class', () => {
      const r = multiClassNms(boxes, cands, { ...opts, iouThreshold: 1, method: 'soft-gaussian', sigma: 0.5 });
      const iou = 90 / 110;
      const decay = Math.exp(-(iou * iou) / 0.5);
      expect(r.map((c) => [c.boxIndex, c.classId])).to.deep.equal([[0, 1], [1, 2], [1, 1]]);
      expect(r[2].score).to.be.closeTo(0.8 * decay, 1e-12); // 0.209... >= 0.2
      // class 2's box 0 (0.3) decays to 0.3 * decay = 0.0789 < 0.2 and is dropped
    });
  });

  describe('validateNmsOptions', () => {
    const ok = { iouThreshold: 0.5, scoreThreshold: 0.5, maxDetections: 100 };
    it('accepts good options', () => {
      expect(() => validateNmsOptions(ok)).to.not.throw();
      expect(() => validateNmsOptions({ ...ok, method: 'soft-gaussian', sigma: 0.5, maxDetections: Infinity })).to.not.throw();
    });
    const bad: [string, object, RegExp][] = [
      ['iou > 1', { iouThreshold: 1.5 }, /--iou\b/],
      ['negative score', { scoreThreshold: -0.1 }, /--score\b/],
      ['NaN score', { scoreThreshold: NaN }, /--score\b/],
      ['0 detections', { maxDetections: 0 }, /--max-detections/],
      ['fractional detections', { maxDetections: 2.5 }, /--max-detections/],
      ['unknown method', { method: 'linear' }, /"hard" or "soft-gaussian"/],
      ['sigma 0', { sigma: 0 }, /sigma/],
    ];
    for (const [name, patch, re] of bad) {
      it(`rejects ${name}`, () => {
        expect(() => validateNmsOptions({ ...ok, ...patch } as never)).to.throw(OptionError, re);
      });
    }
  });
});
