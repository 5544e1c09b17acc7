import { expect } from 'chai';
import { SsdpipeError } from '../../src/errors.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { inFlightLimit, lowerForTracker, resolveDetectOptions, resolvePostprocess, resolveRunOptions } from '../../src/pipeline/options.js';
import { readDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';

describe('pipeline options', () => {
  it('bounds frames in flight by count and by bytes, never below two batches', () => {
    expect(inFlightLimit(1280, 720, 1)).to.equal(DEFAULTS.maxInFlight); // 2.7 MB frames: the count limit
    expect(inFlightLimit(3840, 2160, 1)).to.equal(10); // 24.9 MB frames: 256 MiB / 24.9 MB
    expect(inFlightLimit(3840, 2160, 8)).to.equal(16); // two batches of 8
    expect(inFlightLimit(7680, 4320, 1)).to.equal(2);
  });

  it('validates option values with the flag name', () => {
    expect(() => resolveDetectOptions({ score: 1.5 })).to.throw(SsdpipeError, /--score/);
    expect(() => resolveDetectOptions({ iou: -0.1 })).to.throw(SsdpipeError, /--iou/);
    expect(() => resolveDetectOptions({ batch: 0 })).to.throw(SsdpipeError, /--batch/);
    expect(() => resolveDetectOptions({ maxWaitMs: Number.NaN })).to.throw(SsdpipeError, /--max-wait-ms/);
    expect(() => resolveDetectOptions({ backend: 'webgl' } as never)).to.throw(SsdpipeError, /--backend/);
    expect(() => resolveDetectOptions({ batch: 'auto', score: 0.3 })).to.not.throw();
    expect(() => resolveDetectOptions({ bogus: 1 } as never)).to.throw(SsdpipeError, /unknown option bogus/);
  });

  it('fills in the defaults once, and keeps the stop signal out of validation', () => {
    const signal = new AbortController().signal;
    expect(resolveDetectOptions({ signal })).to.deep.equal({
      model: 'face', engine: 'auto', backend: 'auto', batch: 'auto', maxWaitMs: 50, softNms: false, track: true, rtspTransport: 'tcp', stallTimeout: 10,
    });
    expect(resolveRunOptions({ jsonl: 'x.jsonl', progress: process.stderr })).to.include({ jsonl: 'x.jsonl', model: 'face' });
    expect(() => resolveRunOptions({ video: '' })).to.throw(SsdpipeError, /--video/);
  });

  it("fills thresholds from the model's defaults", () => {
    const d = readDescriptor(resolveDescriptorPath('face'));
    expect(resolvePostprocess({}, d)).to.deep.equal({ scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 100, classAgnostic: false, nms: 'hard' });
    expect(resolvePostprocess({ score: 0.7, softNms: true }, d)).to.include({ scoreThreshold: 0.7, nms: 'soft-gaussian' });
    expect(resolvePostprocess({ classes: ['face'], classScores: { face: 0.8 } }, d)).to.deep.include({ classes: ['face'], classScores: { face: 0.8 } });
  });

  it('lowers every threshold, per class too, to the tracker\'s low threshold', () => {
    const p = resolvePostprocess({ score: 0.5, classScores: { face: 0.8, 2: 0.05 } }, readDescriptor(resolveDescriptorPath('face')));
    expect(lowerForTracker(p, 0.1)).to.deep.include({ scoreThreshold: 0.1, classScores: { face: 0.1, 2: 0.05 } });
    expect(p.classScores).to.deep.equal({ face: 0.8, 2: 0.05 });
  });
});
