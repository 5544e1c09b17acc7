import { expect } from 'chai';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import type { Engine, RawOutputs } from '../../src/engines/engine.js';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import type { Frame } from '../../src/frame.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { generateAnchors } from '../../src/model/anchors.js';
import type { ModelDescriptor } from '../../src/model/descriptor.js';
import { loadModel, readDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';

const require = createRequire(import.meta.url);
const DEMO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const A = 5118;
const INPUT = 512 * 512 * 3;

/** A demo photo as a packed RGB frame. */
async function photoFrame(file: string): Promise<Frame> {
  const img = await loadImage(path.join(DEMO, file));
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return { source: file, seq: 0, ptsMs: 0, width: img.width, height: img.height, data: rgb };
}

/** A grey frame of the given size. */
function greyFrame(seq: number, width: number, height: number): Frame {
  return { source: 'grey', seq, ptsMs: seq * 40, width, height, data: new Uint8Array(width * height * 3).fill(128) };
}

/**
 * An engine that returns zero box encodings (every box is its anchor) and one confident face
 * per frame, at the anchor the test names; it records what it was given.
 */
function oneFaceEngine(anchorPerFrame: number[], delayMs = 0) {
  const calls: { input: Float32Array; batch: number }[] = [];
  const engine: Engine = {
    kind: 'onnx',
    backend: 'fake',
    reason: 'test',
    async run(input, batch): Promise<RawOutputs> {
      calls.push({ input: input.slice(), batch });
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const classLogits = new Float32Array(batch * A * 3).fill(-10);
      for (let i = 0; i < batch; i++) classLogits[(i * A + anchorPerFrame[i]) * 3 + 1] = 5;
      return { batch, boxEncodings: new Float32Array(batch * A * 4), classLogits };
    },
    async dispose() {},
  };
  return { engine, calls };
}

describe('inference/detector: SsdDetector', function () {
  this.timeout(60_000);
  let descriptor: ModelDescriptor;
  let anchors: Float32Array; // [A, 4] cy, cx, h, w

  before(() => {
    descriptor = readDescriptor(resolveDescriptorPath('face'));
    anchors = generateAnchors(descriptor.anchors);
  });

  /** The anchor's box [x1, y1, x2, y2] in model-input units. */
  const anchorBox = (a: number): number[] => {
    const [cy, cx, h, w] = anchors.subarray(a * 4, a * 4 + 4);
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  };

  it('maps model boxes back to each source frame through its letterbox, normalized [x1, y1, x2, y2]', async () => {
    // First head: 32x32 cells of 3 anchors. A wide frame fills the top half of the model input,
    // a tall one the left half; pick an anchor inside each.
    const inTopHalf = (6 * 32 + 16) * 3; // row 6, column 16
    const inLeftHalf = (16 * 32 + 6) * 3; // row 16, column 6
    const { engine, calls } = oneFaceEngine([inTopHalf, inLeftHalf]);
    const detector = new SsdDetector(descriptor, engine, {});
    const [wide, tall] = await detector.detect([greyFrame(0, 64, 32), greyFrame(1, 32, 64)]);

    expect(calls).to.have.length(1);
    expect(calls[0].batch).to.equal(2);
    expect(calls[0].input.length).to.equal(2 * INPUT);
    expect(calls[0].input[(300 * 512 + 10) * 3], 'wide frame: below the picture is black padding (-1)').to.equal(-1);
    expect(calls[0].input[(100 * 512 + 10) * 3], 'wide frame: grey 128 -> ~0').to.be.closeTo(128 / 127.5 - 1, 1e-6);
    expect(calls[0].input[INPUT + (10 * 512 + 300) * 3], 'tall frame: right of the picture is padding').to.equal(-1);

    const [x1, y1, x2, y2] = anchorBox(inTopHalf);
    expect(wide.frame.seq).to.equal(0);
    expect(wide.detections).to.have.length(1);
    const d = wide.detections[0];
    expect(d).to.include({ classId: 1, label: 'face', trackId: null });
    expect(d.score).to.be.closeTo(1 / (1 + Math.exp(-5)), 1e-6);
    // Content height is half the input: y doubles, x stays.
    [x1, y1 * 2, x2, y2 * 2].forEach((v, k) => expect(d.box[k], `wide box[${k}]`).to.be.closeTo(v, 1e-6));

    const [u1, v1, u2, v2] = anchorBox(inLeftHalf);
    expect(tall.frame.seq).to.equal(1);
    expect(tall.detections).to.have.length(1);
    [u1 * 2, v1, u2 * 2, v2].forEach((v, k) => expect(tall.detections[0].box[k], `tall box[${k}]`).to.be.closeTo(v, 1e-6));
  });

  it('drops a detection that lies entirely in the letterbox padding', async () => {
    const inBottomHalf = (28 * 32 + 16) * 3; // row 28 of 32: below a wide frame's picture
    const { engine } = oneFaceEngine([inBottomHalf, inBottomHalf]);
    const [wide, square] = await new SsdDetector(descriptor, engine, {}).detect([greyFrame(0, 64, 32), greyFrame(1, 32, 32)]);
    expect(wide.detections).to.deep.equal([]);
    expect(square.detections, 'a square frame has no padding').to.have.length(1);
  });

  it('applies its post-processing options (score threshold)', async () => {
    const { engine } = oneFaceEngine([(6 * 32 + 16) * 3]);
    const strict = new SsdDetector(descriptor, engine, { scoreThreshold: 0.999 });
    expect((await strict.detect([greyFrame(0, 32, 32)]))[0].detections).to.deep.equal([]);
  });

  it('shares batch timings equally among its frames: preprocess, inference, and each frame\'s postprocess', async () => {
    const { engine } = oneFaceEngine([0, 0], 40);
    const detector = new SsdDetector(descriptor, engine, {});
    const batch = detector.prepare([greyFrame(0, 64, 48), greyFrame(1, 64, 48)]);
    expect(batch.preprocessMs).to.be.above(0);
    expect(batch.geometries).to.deep.equal([{ contentWidth: 1, contentHeight: 0.75 }, { contentWidth: 1, contentHeight: 0.75 }]);
    const out = await detector.infer(batch);
    for (const fd of out) {
      expect(fd.timings.preprocess).to.equal(batch.preprocessMs / 2);
      expect(fd.timings.inference).to.be.at.least(15).and.below(1000); // a 40 ms run shared by 2
      expect(fd.timings.postprocess).to.be.a('number').and.at.least(0);
    }
    expect(out[0].timings.inference).to.equal(out[1].timings.inference);
  });

  it('reuses an input buffer once its run is over, and takes back the one a worker engine returns', async () => {
    const { engine } = oneFaceEngine([0]);
    const detector = new SsdDetector(descriptor, engine, {});
    const first = detector.prepare([greyFrame(0, 32, 32)]);
    const pending = detector.prepare([greyFrame(1, 32, 32)]);
    expect(pending.input, 'not reused while its run is pending').to.not.equal(first.input);
    await detector.infer(first);
    expect(detector.prepare([greyFrame(2, 32, 32)]).input).to.equal(first.input);

    const handedBack = new Float32Array(INPUT);
    const worker: Engine = { ...engine, run: async (input, batch) => ({ ...(await engine.run(input, batch)), input: handedBack }) };
    const viaWorker = new SsdDetector(descriptor, worker, {});
    await viaWorker.infer(viaWorker.prepare([greyFrame(0, 32, 32)]));
    expect(viaWorker.prepare([greyFrame(1, 32, 32)]).input).to.equal(handedBack);
  });

  it('finds faces on a demo photo with the ONNX engine: normalized boxes, best first, timings present', async () => {
    const model = await loadModel('face');
    const engine = await createOnnxEngine(model.graph, { threads: 2, cacheDir: null, warmupBatch: 0 });
    try {
      const frame = await photoFrame('sample1.jpg');
      const detector = new SsdDetector(model.descriptor, engine, {});
      const [fd] = await detector.infer(detector.prepare([frame]));
      expect(fd.frame).to.equal(frame);
      expect(fd.detections.length).to.be.at.least(1);
      for (const d of fd.detections) {
        expect(d.label).to.equal('face');
        expect(d.score).to.be.at.least(0.5).and.at.most(1);
        const [x1, y1, x2, y2] = d.box;
        expect(x1).to.be.at.least(0);
        expect(y1).to.be.at.least(0);
        expect(x2).to.be.above(x1).and.at.most(1);
        expect(y2).to.be.above(y1).and.at.most(1);
        expect((x2 - x1) * frame.width, 'a face, not the whole photo').to.be.below(frame.width / 2);
      }
      const scores = fd.detections.map((d) => d.score);
      expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
      expect(fd.timings.preprocess).to.be.above(0);
      expect(fd.timings.inference).to.be.above(0);
      expect(fd.timings.postprocess).to.be.at.least(0);
    } finally {
      await engine.dispose();
    }
  });
});
