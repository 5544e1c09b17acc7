import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, toArray } from 'rxjs';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import { createTfjsEngine } from '../../src/engines/tfjs.js';
import type { Engine } from '../../src/engines/engine.js';
import { ModelError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { generateAnchors, MOBILENET_SSD_COCO_300_ANCHORS } from '../../src/model/anchors.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { loadModel, readModelDescriptor, type LoadedModel } from '../../src/model-io/load-model.js';
import { readTflite } from '../../src/model/tflite/read-tflite.js';
import { fileSource } from '../../src/sources/file-source.js';

// The real COCO SSD MobileNet V1 (uint8) from ../shared/models: imported, run on both engines,
// and its detections on face-api's demo photos (people).

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODEL_DIR = path.resolve(REPO, '..', 'shared', 'models', 'coco-ssd-mobilenet-v1-quant');
const MODEL = path.join(MODEL_DIR, 'ssd_mobilenet_v1.tflite');
const LABELS = path.join(MODEL_DIR, 'labelmap.txt');
const demo = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('model/load-tflite: the COCO SSD TFLite model', function () {
  this.timeout(180_000);
  let model: LoadedModel;

  before(async function () {
    if (!existsSync(MODEL)) {
      this.test!.parent!.title += ` (skipped: ${MODEL} not found)`;
      this.skip();
    }
    model = await loadModel(MODEL, { labels: LABELS });
  });

  it('describes the model: 300x300 stretch, uint8 input to [-1, 1], 1917 anchors, 91 columns, labels', () => {
    const d = model.descriptor;
    expect(d.input).to.deep.equal({ width: 300, height: 300, resize: 'stretch', normalize: { scale: 1 / 128, offset: -1 } });
    expect(d.weights).to.deep.equal({ format: 'tflite', path: MODEL });
    expect(model.descriptorPath).to.equal(MODEL);
    expect(model.graph.numAnchors).to.equal(1917);
    expect(model.graph.numClasses).to.equal(91);
    expect(model.graph.heads.map((h) => [h.height, h.anchorsPerCell])).to.deep.equal([[19, 3], [10, 6], [5, 6], [3, 6], [2, 6], [1, 6]]);
    // 13 depthwise-separable blocks + conv_0 + 8 extra layers, then 2 convs per head
    expect(model.graph.layers).to.have.length(27 + 8 + 12);
    expect(d.boxCoder).to.deep.equal({ type: 'tf', scales: [10, 10, 5, 5] });
    expect(d.scores).to.deep.equal({ activation: 'sigmoid', backgroundClass: 0 });
    // column c = label-map line c - 1: 1 person, 3 car, 18 dog; line 11 is '???'
    expect([d.labels[0], d.labels[1], d.labels[3], d.labels[18], d.labels[12]]).to.deep.equal([null, 'person', 'car', 'dog', null]);
    expect(d.postprocess).to.deep.include({ scoreThreshold: 0.5, maxDetections: 10, classAgnostic: true });
    expect(d.postprocess.iouThreshold).to.be.closeTo(0.6, 1e-6);
  });

  it('its anchors equal the TF OD API generator (interpolated anchor last) within half a quantization step', () => {
    const fromFile = generateAnchors(model.descriptor.anchors);
    const generated = generateAnchors(MOBILENET_SSD_COCO_300_ANCHORS);
    expect(fromFile.length).to.equal(generated.length);
    let max = 0;
    for (let i = 0; i < generated.length; i++) max = Math.max(max, Math.abs(fromFile[i] - generated[i]));
    expect(max).to.be.below(0.00645306 / 2);
  });

  it('every int32 bias scale in the file is input scale x weight scale', () => {
    const m = readTflite(readFileSync(MODEL));
    let checked = 0;
    for (const op of m.operators.filter((o) => o.op === 'CONV_2D' || o.op === 'DEPTHWISE_CONV_2D')) {
      const [x, w, b] = op.inputs.map((i) => m.tensors[i]);
      const expected = x.quantization!.scale[0] * w.quantization!.scale[0];
      expect(Math.abs(b.quantization!.scale[0] - expected) / expected, b.name).to.be.below(1e-5);
      checked++;
    }
    expect(checked).to.equal(47);
  });

  it('labels without a label map are "class <id>"; a missing label map or labels for a descriptor are ModelErrors', async () => {
    const { descriptor } = readModelDescriptor(MODEL);
    expect(descriptor.labels[1]).to.equal('class 0');
    await loadModel(MODEL, { labels: '/nonexistent/labelmap.txt' }).then(() => expect.fail('loaded'), (err) => {
      expect(err).to.be.instanceOf(ModelError);
      expect((err as Error).message).to.match(/cannot read label map \/nonexistent\/labelmap\.txt/);
    });
    await loadModel('face', { labels: LABELS }).then(() => expect.fail('loaded'), (err) => expect(err).to.be.instanceOf(ModelError));
  });

  it('--labels with the zip\'s raw labelmap.txt (a ??? background line first) gives the same labels, not shifted by one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-labels-'));
    try {
      const raw = path.join(dir, 'labelmap.txt');
      await writeFile(raw, `???\n${readFileSync(LABELS, 'utf8')}`);
      const { descriptor } = readModelDescriptor(MODEL, { labels: raw });
      expect(descriptor.labels).to.deep.equal(model.descriptor.labels);
      expect(descriptor.labels.slice(0, 4)).to.deep.equal([null, 'person', 'bicycle', 'car']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('on both engines', () => {
    let onnx: Engine;
    let tfjs: Engine;
    const frames: Frame[] = [];

    before(async () => {
      onnx = await createOnnxEngine(model.graph, { threads: 2, cacheDir: null });
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

    it('raw outputs agree within 1e-3 (a batch of 3, twice)', async () => {
      const prep = new SsdDetector(model.descriptor, onnx, model.descriptor.postprocess);
      for (const group of [frames.slice(0, 3), frames.slice(3)]) {
        const batch = prep.prepare(group);
        const a = await onnx.run(batch.input, group.length);
        const b = await tfjs.run(batch.input, group.length);
        expect(a.classLogits.length).to.equal(group.length * 1917 * 91);
        let maxBox = 0;
        for (let i = 0; i < a.boxEncodings.length; i++) maxBox = Math.max(maxBox, Math.abs(a.boxEncodings[i] - b.boxEncodings[i]));
        let maxScore = 0;
        for (let i = 0; i < a.classLogits.length; i++) maxScore = Math.max(maxScore, Math.abs(sigmoid(a.classLogits[i]) - sigmoid(b.classLogits[i])));
        expect(maxBox, 'box encodings').to.be.below(1e-3);
        expect(maxScore, 'scores').to.be.below(1e-3);
      }
    });

    it('finds people on every demo photo (person, score > 0.5), with the same detections on both engines', async () => {
      const post = model.descriptor.postprocess;
      const a = await new SsdDetector(model.descriptor, onnx, post).detect(frames);
      const b = await new SsdDetector(model.descriptor, tfjs, post).detect(frames);
      for (let i = 0; i < frames.length; i++) {
        const people = a[i].detections.filter((d) => d.label === 'person' && d.score > 0.5);
        expect(people.length, frames[i].source).to.be.at.least(3);
        expect(b[i].detections.length, frames[i].source).to.equal(a[i].detections.length);
        a[i].detections.forEach((d, k) => {
          const e = b[i].detections[k];
          expect(e.label).to.equal(d.label);
          expect(Math.abs(e.score - d.score)).to.be.below(1e-3);
          d.box.forEach((v, j) => expect(Math.abs(e.box[j] - v)).to.be.below(1e-3));
        });
      }
    });
  });
});
