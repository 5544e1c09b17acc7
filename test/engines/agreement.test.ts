import { expect } from 'chai';
import { createRequire } from 'node:module';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import { createTfjsEngine } from '../../src/engines/tfjs.js';
import type { Engine, RawOutputs } from '../../src/engines/engine.js';
import type { Frame } from '../../src/frame.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { loadModel, type LoadedModel } from '../../src/model-io/load-model.js';
import { fileSource } from '../../src/sources/file-source.js';

// Issue: the ONNX and TF.js engines run the same description; on the same frames their box
// encodings and scores agree within 1e-3 and the detections after NMS are the same.

const require = createRequire(import.meta.url);
const demo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('engine agreement: onnx vs tfjs (wasm) on the face model', function () {
  this.timeout(120_000);
  let model: LoadedModel;
  let onnx: Engine;
  let tfjs: Engine;
  const frames: Frame[] = [];

  before(async () => {
    model = await loadModel('face');
    onnx = await createOnnxEngine(model.graph, { threads: 2 });
    tfjs = await createTfjsEngine(model.graph, { backend: 'wasm' });
    for (const i of [1, 2, 3, 4, 5, 6]) {
      const [f] = await lastValueFrom(fileSource(path.join(demo, `sample${i}.jpg`)).pipe(toArray()));
      frames.push(f);
    }
  });
  after(async () => {
    await onnx?.dispose();
    await tfjs?.dispose();
  });

  it('raw outputs agree within 1e-3 (batch of 3, twice)', async () => {
    const post = { scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 100 };
    const prep = new SsdDetector(model.descriptor, onnx, post);
    for (const group of [frames.slice(0, 3), frames.slice(3)]) {
      const batch = prep.prepare(group);
      const a: RawOutputs = await onnx.run(batch.input, group.length);
      const b: RawOutputs = await tfjs.run(batch.input, group.length);
      expect(a.boxEncodings.length).to.equal(group.length * 5118 * 4);
      expect(b.classLogits.length).to.equal(a.classLogits.length);
      let maxBox = 0;
      for (let i = 0; i < a.boxEncodings.length; i++) maxBox = Math.max(maxBox, Math.abs(a.boxEncodings[i] - b.boxEncodings[i]));
      let maxScore = 0;
      for (let i = 0; i < a.classLogits.length; i++) maxScore = Math.max(maxScore, Math.abs(sigmoid(a.classLogits[i]) - sigmoid(b.classLogits[i])));
      expect(maxBox, 'box encodings').to.be.below(1e-3);
      expect(maxScore, 'scores').to.be.below(1e-3);
    }
  });

  it('detections after NMS are the same', async () => {
    const post = { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 100 };
    const a = await new SsdDetector(model.descriptor, onnx, post).detect(frames);
    const b = await new SsdDetector(model.descriptor, tfjs, post).detect(frames);
    let total = 0;
    for (let i = 0; i < frames.length; i++) {
      expect(b[i].detections.length, frames[i].source).to.equal(a[i].detections.length);
      a[i].detections.forEach((d, k) => {
        const e = b[i].detections[k];
        expect(e.classId).to.equal(d.classId);
        expect(Math.abs(e.score - d.score)).to.be.below(1e-3);
        d.box.forEach((v, j) => expect(Math.abs(e.box[j] - v)).to.be.below(1e-3));
      });
      total += a[i].detections.length;
    }
    expect(total).to.be.at.least(6);
  });
});
