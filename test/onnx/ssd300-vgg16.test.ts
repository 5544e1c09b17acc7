import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import { exportOnnx } from '../../src/model-io/export-onnx.js';
import { generateAnchors, SSD300_PRIOR_BOX } from '../../src/model/anchors.js';
import { boxIou } from '../../src/model/nms.js';
import { decodeDetections, type PostprocessContext } from '../../src/model/postprocess.js';
import { buildSsdGraph, type SsdGraph } from '../../src/model/ssd-graph.js';
import type { WeightMap } from '../../src/model/weights.js';
import type { OnnxSidecar } from '../../src/onnx/onnx-sidecar.js';
import { maxAbsDiff, randomFloats } from '../helpers/arrays.js';
import { randomLayerListWeights, readLayerListDescriptor, SSD300_VGG16_PATH } from './layer-list-fixture.js';

/** [n, H, W, 3] -> [n, 3, H, W] */
function toNchw(x: Float32Array, n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * h * w + p] = x[(b * h * w + p) * 3 + c];
    }
  }
  return out;
}

describe('onnx/ssd300-vgg16: the paper\'s SSD300 from its description, with random weights', function () {
  this.timeout(180_000);
  const desc = readLayerListDescriptor();
  let weights: WeightMap;
  let graph: SsdGraph;
  let dir: string;

  before(async () => {
    weights = randomLayerListWeights(desc, 300);
    graph = buildSsdGraph(desc, weights);
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-ssd300-test-'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('the lowered graph', () => {
    const layer = (name: string) => graph.layers.find((l) => l.name === name)!;

    it('has six heads of 38, 19, 10, 5, 3 and 1 cells with 4, 6, 6, 6, 4, 4 boxes: 8732 anchors, as SSD300_PRIOR_BOX', () => {
      expect(graph.heads.map((h) => [h.height, h.width, h.anchorsPerCell])).to.deep.equal([
        [38, 38, 4], [19, 19, 6], [10, 10, 6], [5, 5, 6], [3, 3, 4], [1, 1, 4],
      ]);
      expect(graph.numAnchors).to.equal(8732);
      expect(generateAnchors(desc.anchors).length / 4).to.equal(8732);
      expect(desc.anchors).to.deep.equal(SSD300_PRIOR_BOX);
      expect(graph.numClasses).to.equal(21);
      expect(graph.heads.map((h) => layer(h.boxLayer).kernel)).to.deep.equal([3, 3, 3, 3, 3, 3]);
    });

    it('pools 75 -> 38 in ceil mode at pool3 (one row and column of padding after) and keeps 19 at pool5', () => {
      const p3 = layer('pool3');
      expect([p3.kind, p3.inHeight, p3.outHeight, p3.pads]).to.deep.equal(['maxpool', 75, 38, [0, 0, 1, 1]]);
      const p5 = layer('pool5');
      expect([p5.kernel, p5.stride, p5.inHeight, p5.outHeight, p5.pads]).to.deep.equal([3, 1, 19, 19, [1, 1, 1, 1]]);
      expect(p3.weights.length + p3.bias.length).to.equal(0);
    });

    it('normalizes conv4_3 with a learned scale, and pool4 reads conv4_3 itself', () => {
      const n = layer('conv4_3_norm');
      expect([n.kind, n.input, n.inChannels, n.outChannels, n.weights.length, n.bias.length]).to.deep.equal(['l2norm', 'conv4_3', 512, 512, 512, 0]);
      expect(layer('pool4').input).to.equal('conv4_3');
    });

    it('dilates fc6 by 6 with 6 pixels of padding, keeping 19x19; fc7 is 1x1; convs use plain ReLU', () => {
      const fc6 = layer('fc6');
      expect([fc6.dilation, fc6.kernel, fc6.pads, fc6.inHeight, fc6.outHeight, fc6.outChannels]).to.deep.equal([6, 3, [6, 6, 6, 6], 19, 19, 1024]);
      expect([layer('fc7').kernel, layer('fc7').outHeight]).to.deep.equal([1, 19]);
      expect(new Set(graph.layers.filter((l) => l.kind === 'conv' && !l.name.includes('_mbox/')).map((l) => l.activation))).to.deep.equal(new Set(['relu']));
    });

    it('shrinks the extra layers 19 -> 10 -> 5 -> 3 -> 1 with Caffe padding (conv9_2 pads 1 on both sides, unlike TF SAME)', () => {
      expect(['conv8_2', 'conv9_2', 'conv10_2', 'conv11_2'].map((n) => [layer(n).inHeight, layer(n).outHeight, layer(n).pads[0], layer(n).pads[2]])).to.deep.equal([
        [19, 10, 1, 1], [10, 5, 1, 1], [5, 3, 0, 0], [3, 1, 0, 0],
      ]);
    });
  });

  it('round-trips through export, ONNX Runtime and decoding with the sidecar\'s 8732 anchors', async () => {
    const res = await exportOnnx({ descriptor: desc, descriptorPath: SSD300_VGG16_PATH, weights, graph }, { outPath: path.join(dir, 'ssd300.onnx'), layout: 'nchw' });
    const sidecar = JSON.parse(await readFile(res.sidecarPath, 'utf8')) as OnnxSidecar;
    expect(sidecar.anchors.count).to.equal(8732);
    expect(sidecar.anchors.values).to.have.length(8732);
    expect(sidecar.input.shape).to.deep.equal([-1, 3, 300, 300]);
    expect(sidecar.outputs.class_logits.shape).to.deep.equal([-1, 8732, 21]);
    expect(sidecar.boxCoder).to.deep.equal({ type: 'caffe', variances: [0.1, 0.1, 0.2, 0.2] });
    expect(sidecar.scores).to.deep.equal({ activation: 'softmax', backgroundClass: 0 });
    const anchors = Float32Array.from(sidecar.anchors.values.flat());
    expect(maxAbsDiff(anchors, generateAnchors(SSD300_PRIOR_BOX))).to.equal(0);

    // Mean-subtracted pixels, as the descriptor's normalize makes them: [-117, 138).
    const N = 2;
    const nhwc = randomFloats(N * 300 * 300 * 3, 7, -117, 138);
    const session = await ort.InferenceSession.create(res.onnxPath, { intraOpNumThreads: 2, logSeverityLevel: 3 });
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ image: new ort.Tensor('float32', toNchw(nhwc, N, 300, 300), [N, 3, 300, 300]) });
    } finally {
      await session.release();
    }
    expect(out.box_encodings.dims).to.deep.equal([N, 8732, 4]);
    expect(out.class_logits.dims).to.deep.equal([N, 8732, 21]);
    const box = out.box_encodings.data as Float32Array;
    const cls = out.class_logits.data as Float32Array;
    expect(box.every(Number.isFinite) && cls.every(Number.isFinite)).to.equal(true);
    // The two frames differ, and so do the outputs: the network does not collapse to a constant.
    expect(maxAbsDiff(cls.subarray(0, 8732 * 21), cls.subarray(8732 * 21))).to.be.above(1e-3);

    // Decode as a consumer of the exported files would: everything from the sidecar.
    const ctx: PostprocessContext = {
      anchors, numAnchors: sidecar.anchors.count, numClasses: 21, coder: sidecar.boxCoder, scores: sidecar.scores, labels: sidecar.labels,
    };
    // Random weights give softmax scores near 1/21: a low threshold lets NMS see thousands of boxes.
    const opts = { scoreThreshold: 0.045, iouThreshold: sidecar.postprocess.iouThreshold, maxDetections: sidecar.postprocess.maxDetections };
    for (let f = 0; f < N; f++) {
      const dets = decodeDetections(box, cls, f, ctx, opts);
      expect(dets.length).to.be.within(1, 200);
      for (const d of dets) {
        expect(d.label).to.be.oneOf(desc.labels.slice(1) as string[]);
        expect(d.box.every(Number.isFinite)).to.equal(true);
      }
      expect(dets.map((d) => d.score)).to.deep.equal([...dets.map((d) => d.score)].sort((a, b) => b - a));
      // NMS ran: no two kept boxes of one class overlap by more than the IoU threshold.
      const flat = dets.flatMap((d) => d.box);
      for (let i = 0; i < dets.length; i++) {
        for (let j = i + 1; j < dets.length; j++) {
          if (dets[i].classId === dets[j].classId) expect(boxIou(flat, i, j)).to.be.at.most(opts.iouThreshold + 1e-6);
        }
      }
    }

    // The ONNX engine runs the same graph (NHWC input, generated in memory) with the same outputs.
    const engine = await createOnnxEngine(graph, { threads: 2, cacheDir: null, warmupBatch: 0 });
    try {
      const ref = await engine.run(nhwc, N);
      expect(maxAbsDiff(ref.boxEncodings, box)).to.be.below(1e-4);
      expect(maxAbsDiff(ref.classLogits, cls)).to.be.below(1e-4);
    } finally {
      await engine.dispose();
    }
  });
});
