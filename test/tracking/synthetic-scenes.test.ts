import { expect } from 'chai';
import { SCENE_PRESETS, generateScene, generateSceneSet } from '../../src/tracking/synthetic-scenes.js';
import { SsdpipeError } from '../../src/errors.js';

describe('synthetic scenes', () => {
  it('is deterministic in its seed', () => {
    const a = generateScene(SCENE_PRESETS.easy, 7);
    const b = generateScene(SCENE_PRESETS.easy, 7);
    const c = generateScene(SCENE_PRESETS.easy, 8);
    expect(a).to.deep.equal(b);
    expect(c.frames[0].truth).to.not.deep.equal(a.frames[0].truth);
  });

  it('keeps boxes normalized and ids unique within a frame', () => {
    const bad: string[] = [];
    for (const seq of generateSceneSet('crowded', 2, 3)) {
      for (const f of seq.frames) {
        const ids = f.truth.map((t) => t.id);
        if (new Set(ids).size !== ids.length) bad.push(`${seq.name}#${f.seq}: duplicate id`);
        for (const { box } of [...f.truth, ...f.detections]) {
          if (!(box[0] >= 0 && box[0] <= box[2] && box[2] <= 1 && box[1] >= 0 && box[1] <= box[3] && box[3] <= 1)) bad.push(`${seq.name}#${f.seq}: ${box}`);
        }
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it('makes the easy set easy and the crowded set hard', () => {
    const stats = (preset: 'easy' | 'crowded') => {
      let truth = 0;
      let hidden = 0;
      let low = 0;
      let dets = 0;
      for (const seq of generateSceneSet(preset, 4, 1)) {
        for (const f of seq.frames) {
          truth += f.truth.length;
          hidden += f.truth.filter((t) => t.visibility < 0.35).length;
          dets += f.detections.length;
          low += f.detections.filter((d) => d.score < 0.5).length;
        }
      }
      return { hiddenShare: hidden / truth, lowShare: low / dets, perFrame: truth / (4 * 300) };
    };
    const easy = stats('easy');
    const crowded = stats('crowded');
    expect(easy.hiddenShare).to.be.below(0.05);
    expect(crowded.hiddenShare).to.be.above(easy.hiddenShare * 1.5);
    expect(crowded.lowShare).to.be.above(easy.lowShare);
    expect(crowded.perFrame).to.be.above(2 * easy.perFrame);
  });

  it('drops frames of a live source, with time jumping over them', () => {
    const seq = generateScene(SCENE_PRESETS.live, 1);
    const kept = seq.frames.length / SCENE_PRESETS.live.frames;
    expect(kept).to.be.within(0.57, 0.77); // a third dropped, give or take
    const gaps = seq.frames.slice(1).map((f, k) => f.ptsMs - seq.frames[k].ptsMs);
    expect(Math.max(...gaps)).to.be.above(2000 / 30);
    expect(generateScene(SCENE_PRESETS.easy, 1).frames).to.have.length(300);
  });

  it('rejects impossible options', () => {
    expect(() => generateScene({ ...SCENE_PRESETS.easy, missRate: 1 }, 1)).to.throw(SsdpipeError, /missRate/);
    expect(() => generateScene({ ...SCENE_PRESETS.easy, classes: 0 }, 1)).to.throw(SsdpipeError, /classes/);
  });
});
