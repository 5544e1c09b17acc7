import { expect } from 'chai';
import { MotAccumulator, summarizeMot } from '../../src/tracking/mot-metrics.js';

const N = NaN;
const box = (x: number, y = 0, w = 1, h = 1): number[] => [x, y, x + w, y + h];

describe('MotAccumulator', () => {
  it('scores perfect tracking as MOTA 1 and IDF1 1', () => {
    const acc = new MotAccumulator();
    for (let f = 0; f < 3; f++) {
      acc.update(
        [
          { id: 1, box: box(f) },
          { id: 2, box: box(5) },
        ],
        [
          { id: 10, box: box(f) },
          { id: 20, box: box(5) },
        ],
      );
    }
    expect(acc.summary()).to.include({ gt: 6, matches: 6, misses: 0, falsePositives: 0, idSwitches: 0, mota: 1, idf1: 1, motp: 0 });
  });

  it('matches the three-frame example worked by hand (py-motmetrics README example)', () => {
    // Objects a = 1, b = 2; hypotheses 1, 2, 3. NaN = invalid pair.
    // f1: d = [[.1, -, .3], [.5, .2, .3]]. No history; most pairs (2) at least cost:
    //     a-h1 + b-h2 = .3 (a-h3 + b-h1 = .8, a-h1 + b-h3 = .4). h3 is a FP.
    // f2: d = [[.2], [.4]] with h1 only. a keeps h1 (still valid); b's h2 is absent: b missed.
    // f3: d = [[.6, .2], [.1, .6]] for h1, h3. a keeps h1 (.6 valid) although a-h3 + b-h1 = .3
    //     would be cheaper; b takes h3, b's last match was h2: one switch.
    // GT 6, FP 1, FN 1, IDSW 1: MOTA = 1 - 3/6 = 0.5. MOTP = (.1+.2+.2+.6+.6)/5 = 0.34.
    // Identity: valid-pair frames a-h1 3, a-h3 2, b-h1 3, b-h2 1, b-h3 2. Best global matching
    // a-h1 + b-h3 = 5 (or a-h3 + b-h1 = 5; a-h1 + b-h2 = 4). IDTP 5, GT 6, hypotheses 6:
    // IDFN 1, IDFP 1, IDF1 = 10/12.
    const acc = new MotAccumulator();
    acc.updateDistances([1, 2], [1, 2, 3], [0.1, N, 0.3, 0.5, 0.2, 0.3]);
    acc.updateDistances([1, 2], [1], [0.2, 0.4]);
    acc.updateDistances([1, 2], [1, 3], [0.6, 0.2, 0.1, 0.6]);
    const s = acc.summary();
    expect(s).to.include({ gt: 6, hypotheses: 6, matches: 4, misses: 1, falsePositives: 1, idSwitches: 1, idtp: 5, idfn: 1, idfp: 1 });
    expect(s.mota).to.be.closeTo(0.5, 1e-12);
    expect(s.motp).to.be.closeTo(0.34, 1e-12);
    expect(s.idf1).to.be.closeTo(10 / 12, 1e-12);
  });

  it('keeps history over a cheaper new match, and counts switches both ways (py-motmetrics event test)', () => {
    // f0: no objects, hypotheses a, b: 2 FP.             f1: objects 1, 2, no hypotheses: 2 FN.
    // f2: d = [[1, .5], [.3, 1]]: 1-b + 2-a (.8) beats 1-a + 2-b (2). Two matches.
    // f3: d = [[.2, -], [-, .1]]: 1-b and 2-a are invalid now; 1-a, 2-b: two switches.
    // f4: d = [[5, 1], [1, 5]]: history 1-a, 2-b still valid (finite): kept, two matches,
    //     although 1-b + 2-a would cost 2 instead of 10.   f5: empty frame.
    // GT 8, FP 2, FN 2, IDSW 2: MOTA = 1 - 6/8 = 0.25.
    const acc = new MotAccumulator();
    const A = 100;
    const B = 200;
    acc.updateDistances([], [A, B], []);
    acc.updateDistances([1, 2], [], []);
    acc.updateDistances([1, 2], [A, B], [1, 0.5, 0.3, 1]);
    acc.updateDistances([1, 2], [A, B], [0.2, N, N, 0.1]);
    acc.updateDistances([1, 2], [A, B], [5, 1, 1, 5]);
    acc.updateDistances([], [], []);
    const s = acc.summary();
    expect(s).to.include({ frames: 6, gt: 8, matches: 4, misses: 2, falsePositives: 2, idSwitches: 2, mota: 0.25 });
  });

  it('counts an id handed over between two hypotheses as one switch, and IDF1 1/2', () => {
    // One object for 4 frames; hypothesis 7 covers frames 0-1, hypothesis 8 frames 2-3.
    // CLEAR: frame 2 matches 8 while the last match was 7: 1 switch; MOTA = 1 - 1/4 = 0.75.
    // Identity: the object can be paired with one of them only: IDTP 2, IDFN 2, IDFP 2,
    // IDF1 = 4 / (4 + 2 + 2) = 0.5.
    const acc = new MotAccumulator();
    for (let f = 0; f < 4; f++) acc.update([{ id: 1, box: box(0) }], [{ id: f < 2 ? 7 : 8, box: box(0) }]);
    const s = acc.summary();
    expect(s).to.include({ matches: 3, idSwitches: 1, misses: 0, falsePositives: 0, mota: 0.75, idtp: 2, idf1: 0.5 });
  });

  it('treats IoU below the threshold as a miss plus a false positive, and exactly 0.5 as a match', () => {
    // [0,0,1,1] vs [0,0,1,.5]: IoU .5 -> match (d .5). vs [.5,0,1.5,1]: IoU 1/3 -> FN + FP.
    const acc = new MotAccumulator();
    acc.update([{ id: 1, box: [0, 0, 1, 1] }], [{ id: 9, box: [0, 0, 1, 0.5] }]);
    acc.update([{ id: 1, box: [0, 0, 1, 1] }], [{ id: 9, box: [0.5, 0, 1.5, 1] }]);
    const s = acc.summary();
    expect(s).to.include({ matches: 1, misses: 1, falsePositives: 1, idSwitches: 0, mota: 0, idtp: 1 });
    expect(s.motp).to.be.closeTo(0.5, 1e-12);
    // IDF1 = 2 / (2 + 1 + 1) = 0.5
    expect(s.idf1).to.be.closeTo(0.5, 1e-12);
  });

  it('sums counts over sequences before taking ratios', () => {
    const perfect = new MotAccumulator();
    perfect.update([{ id: 1, box: box(0) }], [{ id: 1, box: box(0) }]);
    const missed = new MotAccumulator();
    for (let f = 0; f < 3; f++) missed.update([{ id: 1, box: box(0) }], []);
    // GT 1 + 3, FN 3: MOTA = 1 - 3/4 = 0.25 (the mean of per-sequence MOTAs would be 0.5).
    // IDTP 1, IDFN 3, IDFP 0: IDF1 = 2 / (2 + 3) = 0.4.
    const s = summarizeMot([perfect.summary(), missed.summary()]);
    expect(s).to.include({ gt: 4, misses: 3, mota: 0.25, idtp: 1, idf1: 0.4 });
  });
});
