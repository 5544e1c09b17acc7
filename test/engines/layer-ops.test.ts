import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import { createTfjsEngine } from '../../src/engines/tfjs.js';
import { EngineError } from '../../src/errors.js';
import type { LayerListNetworkSpec, ModelDescriptor } from '../../src/model/descriptor.js';
import { buildSsdGraph, L2NORM_EPSILON, type ConvLayer, type SsdGraph } from '../../src/model/ssd-graph.js';
import { buildOnnxModel, type OnnxInputLayout } from '../../src/onnx/onnx-graph.js';
import { maxAbsDiff, randomFloats } from '../helpers/arrays.js';
import { randomLayerListWeights, readLayerListDescriptor } from '../onnx/layer-list-fixture.js';

/**
 * A small layer-list network, input 23x21 (odd, non-square), exercising every VGG-SSD op:
 *   c1  conv 3x3 pad 1, 3->8, relu:                 23x21
 *   p1  maxpool 2/2 ceil mode:                      12x11 (pads after: 1, 1)
 *   c2  conv 3x3 pad 2 dilation 2, 8->8, relu:      12x11
 *   n2  l2norm of c2 (scale ~20)
 *   p2  maxpool 3/1 pad 1 of c2:                    12x11
 *   c3  conv 3x3/2 pad 1, 8->12, relu6:             6x6
 *   p3  maxpool 2/2 floor:                          3x3
 *   heads: n2 (3x3 kernel, 2 anchors), c3 (1x1, 3), p3 (3x3, 2); 3 classes: 264 + 108 + 18 = 390 anchors.
 */
function opsDescriptor(): ModelDescriptor & { network: LayerListNetworkSpec } {
  return {
    name: 'layer-ops',
    description: 'test network',
    weights: { format: 'tfjs-manifest', manifest: 'none.json' },
    input: { width: 21, height: 23, resize: 'stretch', normalize: { scale: 1, offset: 0 } },
    network: {
      type: 'layers',
      layers: [
        { op: 'conv', name: 'c1', kernel: 3, pad: 1, filters: 8, activation: 'relu' },
        { op: 'maxpool', name: 'p1', kernel: 2, stride: 2, ceilMode: true },
        { op: 'conv', name: 'c2', kernel: 3, pad: 2, dilation: 2, filters: 8, activation: 'relu' },
        { op: 'l2norm', name: 'n2', initialScale: 20 },
        { op: 'maxpool', name: 'p2', input: 'c2', kernel: 3, stride: 1, pad: 1 },
        { op: 'conv', name: 'c3', kernel: 3, stride: 2, pad: 1, filters: 12, activation: 'relu6' },
        { op: 'maxpool', name: 'p3', kernel: 2, stride: 2 },
      ],
      predictors: [
        { source: 'n2', name: 'h0', anchorsPerCell: 2, kernel: 3 },
        { source: 'c3', name: 'h1', anchorsPerCell: 3 },
        { source: 'p3', name: 'h2', anchorsPerCell: 2, kernel: 3 },
      ],
      numClasses: 3,
    },
    anchors: { type: 'explicit', values: [] },
    boxCoder: { type: 'caffe', variances: [0.1, 0.1, 0.2, 0.2] },
    scores: { activation: 'softmax', backgroundClass: 0 },
    labels: [null, 'a', 'b'],
    postprocess: { scoreThreshold: 0.5, iouThreshold: 0.45, maxDetections: 10 },
  };
}

/** One layer in plain JS, NHWC, batch n: conv (dilated), maxpool (pads never win) or l2norm. */
function referenceLayer(x: Float32Array, n: number, l: ConvLayer): Float32Array {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O, kernel: k, stride: s } = l;
  const [top, left] = l.pads;
  const d = l.dilation ?? 1;
  const y = new Float32Array(n * OH * OW * O);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const at = ((b * OH + oy) * OW + ox) * O;
        if (l.kind === 'l2norm') {
          const src = ((b * H + oy) * W + ox) * C;
          let ss = 0;
          for (let c = 0; c < C; c++) ss += x[src + c] ** 2;
          for (let c = 0; c < C; c++) y[at + c] = (x[src + c] / Math.sqrt(ss + L2NORM_EPSILON)) * l.weights[c];
          continue;
        }
        for (let o = 0; o < O; o++) {
          let acc = l.kind === 'maxpool' ? -Infinity : l.bias[o];
          for (let ky = 0; ky < k; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * s - top + ky * d;
              const ix = ox * s - left + kx * d;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; // zero pad (conv), never wins (pool)
              const v = x[((b * H + iy) * W + ix) * C + (l.kind === 'maxpool' ? o : 0)];
              if (l.kind === 'maxpool') acc = Math.max(acc, v);
              else for (let c = 0; c < C; c++) acc += x[((b * H + iy) * W + ix) * C + c] * l.weights[((ky * k + kx) * C + c) * O + o];
            }
          }
          y[at + o] = l.activation === 'relu' ? Math.max(acc, 0) : l.activation === 'relu6' ? Math.min(Math.max(acc, 0), 6) : acc;
        }
      }
    }
  }
  return y;
}

/** The graph in plain JS: box encodings [n, A, 4] and class logits [n, A, C] (NHWC heads are already anchor-major). */
function referenceGraph(graph: SsdGraph, x: Float32Array, n: number): { boxEncodings: Float32Array; classLogits: Float32Array } {
  const maps = new Map([['input', x]]);
  for (const l of graph.layers) maps.set(l.name, referenceLayer(maps.get(l.input)!, n, l));
  const join = (names: string[], depth: number): Float32Array => {
    const out = new Float32Array(n * graph.numAnchors * depth);
    let offset = 0;
    for (let b = 0; b < n; b++) {
      for (const name of names) {
        const m = maps.get(name)!;
        const per = m.length / n;
        out.set(m.subarray(b * per, (b + 1) * per), offset);
        offset += per;
      }
    }
    return out;
  };
  return { boxEncodings: join(graph.heads.map((h) => h.boxLayer), 4), classLogits: join(graph.heads.map((h) => h.classLayer), graph.numClasses) };
}

function nhwcToNchw(x: Float32Array, n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) out[(b * 3 + c) * h * w + p] = x[(b * h * w + p) * 3 + c];
  return out;
}

describe('engines: max pooling, dilation, L2 norm and ReLU (VGG-style SSD layers)', function () {
  this.timeout(60_000);
  const desc = opsDescriptor();
  const graph = buildSsdGraph(desc, randomLayerListWeights(desc, 5, 1));
  const N = 2;
  const input = randomFloats(N * 23 * 21 * 3, 9, -2, 2);
  const ref = referenceGraph(graph, input, N);

  it('the test graph has the sizes and pads described above', () => {
    const by = (name: string) => graph.layers.find((l) => l.name === name)!;
    expect(['c1', 'p1', 'c2', 'n2', 'p2', 'c3', 'p3'].map((n) => [by(n).kind, by(n).outHeight, by(n).outWidth, ...by(n).pads])).to.deep.equal([
      ['conv', 23, 21, 1, 1, 1, 1],
      ['maxpool', 12, 11, 0, 0, 1, 1],
      ['conv', 12, 11, 2, 2, 2, 2],
      ['l2norm', 12, 11, 0, 0, 0, 0],
      ['maxpool', 12, 11, 1, 1, 1, 1],
      ['conv', 6, 6, 1, 1, 1, 1],
      ['maxpool', 3, 3, 0, 0, 0, 0],
    ]);
    expect(by('c2').dilation).to.equal(2);
    expect(graph.numAnchors).to.equal(12 * 11 * 2 + 6 * 6 * 3 + 3 * 3 * 2);
    // The inputs reach both sides of ReLU and ReLU6, so clamping is exercised.
    const c3 = referenceLayer(referenceLayer(referenceLayer(referenceLayer(input, N, by('c1')), N, by('p1')), N, by('c2')), N, by('p2'));
    expect(c3.some((v) => v === 0) && c3.some((v) => v > 0)).to.equal(true);
  });

  for (const layout of ['nhwc', 'nchw'] as const satisfies readonly OnnxInputLayout[]) {
    it(`ONNX Runtime (${layout}) matches the JS reference within 1e-4`, async () => {
      const session = await ort.InferenceSession.create(buildOnnxModel(graph, { inputLayout: layout }), { logSeverityLevel: 3, intraOpNumThreads: 1 });
      try {
        const image = layout === 'nhwc' ? new ort.Tensor('float32', input, [N, 23, 21, 3]) : new ort.Tensor('float32', nhwcToNchw(input, N, 23, 21), [N, 3, 23, 21]);
        const out = await session.run({ image });
        expect(maxAbsDiff(out.box_encodings.data as Float32Array, ref.boxEncodings)).to.be.below(1e-4);
        expect(maxAbsDiff(out.class_logits.data as Float32Array, ref.classLogits)).to.be.below(1e-4);
      } finally {
        await session.release();
      }
    });
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`TF.js (${backend}) matches the JS reference within 1e-4 and leaks no tensors`, async () => {
      const engine = await createTfjsEngine(graph, { backend, warmupBatch: 1 });
      // The engine holds a filter and a bias per conv and a scale per l2norm; a pool holds nothing.
      const held = graph.layers.reduce((n, l) => n + (l.kind === 'maxpool' ? 0 : l.kind === 'l2norm' ? 1 : 2), 0);
      const loaded = tf.memory().numTensors;
      try {
        const out = await engine.run(input, N);
        expect(maxAbsDiff(out.boxEncodings, ref.boxEncodings)).to.be.below(1e-4);
        expect(maxAbsDiff(out.classLogits, ref.classLogits)).to.be.below(1e-4);
        expect(tf.memory().numTensors).to.equal(loaded);
      } finally {
        await engine.dispose();
      }
      expect(tf.memory().numTensors).to.equal(loaded - held);
    });
  }

  it('TF.js refuses a layer kind it does not know with an EngineError naming the layer', async () => {
    const odd: SsdGraph = { ...graph, layers: graph.layers.map((l) => (l.name === 'p2' ? { ...l, kind: 'avgpool' as ConvLayer['kind'] } : l)) };
    const err = await createTfjsEngine(odd, { backend: 'cpu' }).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(EngineError);
    expect((err as EngineError).message).to.match(/layer p2 has kind "avgpool"/);
  });
});

describe('engines: SSD300-VGG16 (random weights) on TF.js and ONNX Runtime', function () {
  this.timeout(120_000);

  it('gives the same [1, 8732, 4] and [1, 8732, 21] outputs within 1e-3 (logits up to ~30)', async () => {
    const desc = readLayerListDescriptor();
    const graph = buildSsdGraph(desc, randomLayerListWeights(desc, 300));
    const x = randomFloats(300 * 300 * 3, 7, -117, 138); // mean-subtracted pixels
    const tfjs = await createTfjsEngine(graph, { backend: 'wasm', warmupBatch: 1 });
    const onnx = await createOnnxEngine(graph, { threads: 2, cacheDir: null, warmupBatch: 0 });
    try {
      const [a, b] = [await tfjs.run(x, 1), await onnx.run(x, 1)];
      expect([a.boxEncodings.length, a.classLogits.length]).to.deep.equal([8732 * 4, 8732 * 21]);
      expect(maxAbsDiff(a.boxEncodings, b.boxEncodings)).to.be.below(1e-3);
      expect(maxAbsDiff(a.classLogits, b.classLogits)).to.be.below(1e-3);
      expect(maxAbsDiff(b.classLogits, new Float32Array(b.classLogits.length))).to.be.above(1);
    } finally {
      await tfjs.dispose();
      await onnx.dispose();
    }
  });
});
