import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OptionError, OutputError } from '../../src/errors.js';
import { createOnnxEngine, type OnnxEngine } from '../../src/engines/onnx.js';
import { generateAnchors } from '../../src/model/anchors.js';
import { exportOnnx } from '../../src/model-io/export-onnx.js';
import type { OnnxSidecar } from '../../src/onnx/onnx-sidecar.js';
import { loadModel, type LoadedModel } from '../../src/model-io/load-model.js';
import { requireWeight } from '../../src/model/weights.js';
import { maxAbsDiff, randomFrames } from '../helpers/arrays.js';

/** [n, 512, 512, 3] -> [n, 3, 512, 512] */
function toNchw(x: Float32Array, n: number): Float32Array {
  const hw = 512 * 512;
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * hw + p] = x[(b * hw + p) * 3 + c];
    }
  }
  return out;
}

describe('model/export-onnx', function () {
  this.timeout(60_000);
  let loaded: LoadedModel;
  let dir: string;
  let engine: OnnxEngine;

  before(async () => {
    loaded = await loadModel('face');
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-export-test-'));
    engine = await createOnnxEngine(loaded.graph, { threads: 2, cacheDir: null, warmupBatch: 0 });
  });

  after(async () => {
    await engine?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const layout of ['nhwc', 'nchw'] as const) {
    it(`writes a standalone ${layout} model whose outputs equal the engine's`, async () => {
      const res = await exportOnnx(loaded, { outPath: path.join(dir, 'out', `face-${layout}.onnx`), layout });
      expect(res.onnxPath).to.equal(path.join(dir, 'out', `face-${layout}.onnx`));
      expect(res.sidecarPath).to.equal(path.join(dir, 'out', `face-${layout}.json`));
      expect((await readdir(path.join(dir, 'out'))).filter((f) => f.includes(layout)).sort())
        .to.deep.equal([`face-${layout}.json`, `face-${layout}.onnx`]); // no temp files left

      const session = await ort.InferenceSession.create(res.onnxPath, { intraOpNumThreads: 2, logSeverityLevel: 3 });
      try {
        expect(session.inputNames).to.deep.equal(['image']);
        expect(session.outputNames).to.deep.equal(['box_encodings', 'class_logits']);
        const batch = 2;
        const x = randomFrames(batch, 11);
        const image = layout === 'nhwc'
          ? new ort.Tensor('float32', x, [batch, 512, 512, 3])
          : new ort.Tensor('float32', toNchw(x, batch), [batch, 3, 512, 512]);
        const out = await session.run({ image });
        expect(out.box_encodings.dims).to.deep.equal([batch, 5118, 4]);
        expect(out.class_logits.dims).to.deep.equal([batch, 5118, 3]);
        const ref = await engine.run(x, batch);
        expect(maxAbsDiff(out.box_encodings.data as Float32Array, ref.boxEncodings)).to.be.below(1e-4);
        expect(maxAbsDiff(out.class_logits.data as Float32Array, ref.classLogits)).to.be.below(1e-4);
      } finally {
        await session.release();
      }

      const sidecar = JSON.parse(await readFile(res.sidecarPath, 'utf8')) as OnnxSidecar;
      expect(sidecar.onnx).to.equal(`face-${layout}.onnx`);
      expect(sidecar.input.layout).to.equal(layout);
      expect(sidecar.input.shape).to.deep.equal(layout === 'nhwc' ? [-1, 512, 512, 3] : [-1, 3, 512, 512]);
    });
  }

  it('writes a sidecar with everything needed to decode the outputs', async () => {
    const res = await exportOnnx(loaded, { outPath: path.join(dir, 'face.onnx'), layout: 'nhwc' });
    const text = await readFile(res.sidecarPath, 'utf8');
    const s = JSON.parse(text) as OnnxSidecar;
    expect(s.format).to.equal('ssdpipe-onnx-sidecar');
    expect(s.model).to.equal('face');
    expect(s.opset).to.equal(10); // the default: OpenCV 4.6 reads opset 10's Clip (see DEFAULT_ONNX_OPSET)
    expect(s.input).to.deep.include({ name: 'image', dtype: 'float32', channels: 'RGB', resize: 'letterbox' });
    expect(s.input.normalize).to.deep.equal({ scale: 0.007843137718737125, offset: -1 });
    expect(s.outputs.box_encodings.shape).to.deep.equal([-1, 5118, 4]);
    expect(s.outputs.class_logits.shape).to.deep.equal([-1, 5118, 3]);
    expect(s.boxCoder).to.deep.equal({ type: 'tf', scales: [10, 10, 5, 5] });
    expect(s.scores).to.deep.equal({ activation: 'sigmoid', backgroundClass: 0 });
    expect(s.labels).to.deep.equal([null, 'face', null]);
    expect(s.postprocess).to.deep.equal({ scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 100 });

    expect(s.anchors.format).to.equal('cy,cx,h,w');
    expect(s.anchors.count).to.equal(5118);
    expect(s.anchors.values).to.have.length(5118);
    expect(s.anchors.values.every((a) => a.length === 4)).to.equal(true);
    // The JSON reads back to exactly the generator's float32 values.
    const gen = generateAnchors(loaded.descriptor.anchors);
    expect(maxAbsDiff(Float32Array.from(s.anchors.values.flat()), gen)).to.equal(0);
    // And they are the anchors baked into the face-api weights (corners [ymin, xmin, ymax, xmax]).
    const baked = requireWeight(loaded.weights, 'Output/extra_dim').data;
    let worst = 0;
    s.anchors.values.forEach(([cy, cx, h, w], i) => {
      const corners = [cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2];
      for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(corners[k] - baked[i * 4 + k]));
    });
    expect(worst).to.be.below(1e-5);
    // One anchor per line keeps the file readable.
    expect(text.split('\n').length).to.be.within(5118, 5118 + 100);
  });

  it('overwrites an existing export atomically', async () => {
    const outPath = path.join(dir, 'again.onnx');
    await writeFile(outPath, 'old');
    const res = await exportOnnx(loaded, { outPath, layout: 'nchw' });
    expect((await readFile(res.onnxPath)).length).to.be.above(5_000_000);
  });

  it('fails with OutputError on an unwritable path, and OptionError on bad options', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    let err: unknown;
    await exportOnnx(loaded, { outPath: path.join(blocker, 'face.onnx'), layout: 'nhwc' }).catch((e: unknown) => { err = e; });
    expect(err).to.be.instanceOf(OutputError);
    expect((err as OutputError).code).to.equal('E_OUTPUT');
    expect((err as OutputError).message).to.include(blocker);
    expect((err as OutputError).hint).to.be.a('string');

    for (const bad of [{ outPath: '', layout: 'nhwc' }, { outPath: path.join(dir, 'm.onnx'), layout: 'hwc' }, { outPath: path.join(dir, 'm.json'), layout: 'nhwc' }]) {
      err = undefined;
      await exportOnnx(loaded, bad as { outPath: string; layout: 'nhwc' }).catch((e: unknown) => { err = e; });
      expect(err, JSON.stringify(bad)).to.be.instanceOf(OptionError);
    }
  });
});
