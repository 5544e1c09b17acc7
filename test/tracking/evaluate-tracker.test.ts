import { expect } from 'chai';
import { evaluateTracker } from '../../src/tracking/evaluate-tracker.js';
import { MotAccumulator } from '../../src/tracking/mot-metrics.js';
import { generateSceneSet } from '../../src/tracking/synthetic-scenes.js';

describe('tracking quality on synthetic scenes', () => {
  const easy = generateSceneSet('easy', 6, 1);

  it('reaches IDF1 >= 0.9 and MOTA >= 0.8 on the easy set with the default options', () => {
    const { summary } = evaluateTracker(easy);
    expect(summary.gt).to.be.above(10000);
    expect(summary.idf1, 'IDF1').to.be.at.least(0.9);
    expect(summary.mota, 'MOTA').to.be.at.least(0.8);
    // A handful of switches over ~1800 frames, not one per crossing or occlusion.
    expect(summary.idSwitches, 'ID switches').to.be.at.most(15);
  });

  it('would notice a tracker that forgets identities (a new id every frame scores far lower)', () => {
    // The detections themselves, confirmed, but with a fresh id on every frame.
    const acc = new MotAccumulator();
    let nextId = 1;
    for (const seq of easy) {
      for (const f of seq.frames) acc.update(f.truth, f.detections.filter((d) => d.score >= 0.5).map((d) => ({ id: nextId++, box: d.box })));
    }
    const s = acc.summary();
    expect(s.idf1).to.be.below(0.1);
    expect(s.mota).to.be.below(0.2);
  });

  it('is worse on the crowded set than on the easy one', () => {
    const e = evaluateTracker(easy).summary;
    const c = evaluateTracker(generateSceneSet('crowded', 3, 1)).summary;
    expect(c.idf1).to.be.below(e.idf1);
    expect(c.idSwitches / c.gt).to.be.above(e.idSwitches / e.gt);
  });
});
