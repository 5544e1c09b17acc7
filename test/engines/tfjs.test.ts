import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import { createTfjsEngine } from '../../src/engines/tfjs.js';
import type { Engine } from '../../src/engines/engine.js';
import { EngineError } from '../../src/errors.js';
import { loadModel, type LoadedModel } from '../../src/model-io/load-model.js';
import { buildSsdGraph, samePadding, type ConvLayer, type SsdGraph } from '../../src/model/ssd-graph.js';
import { referenceConv, referenceSsd } from '../helpers/reference-conv.js';
import { maxAbsDiff } from '../helpers/arrays.js';

/** Deterministic uniform values in [lo, hi) (mulberry32). */
function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

function allFinite(a: Float32Array): boolean {
  return a.every((v) => Number.isFinite(v));
}

/**
 * A hand-made graph, input 7x10 (odd and non-square):
 *   c1  conv 3x3/2, 3->4, relu6: 7x10 -> 4x5, TF SAME pads top 1 bottom 1, left 0 right 1
 *   d1  depthwise 3x3/2, relu6:   4x5 -> 2x3, pads top 0 bottom 1, left 1 right 1
 *   p1  conv 3x3/1, 4->6, relu6 on d1 with non-SAME pads top 0, left 2, bottom 1, right 0:
 *       2x3 -> 1x3
 *   d2  depthwise 3x3/1, linear on c1 with deliberately non-SAME pads top 2, left 0, bottom 0,
 *       right 1: 4x5 -> 4x4 (an engine that used 'same' instead of the pads would differ)
 *   heads: d2 (4x4, 2 anchors) and p1 (1x3, 1 anchor), 3 classes: 35 anchors.
 */
function tinyGraph(): SsdGraph {
  let seed = 100;
  const layer = (
    name: string, input: string, kind: ConvLayer['kind'], kernel: number, stride: number,
    inC: number, outC: number, activation: ConvLayer['activation'],
    inH: number, inW: number, outH: number, outW: number, pads: [number, number, number, number],
  ): ConvLayer => ({
    name, input, kind, kernel, stride, inChannels: inC, outChannels: outC, activation,
    inHeight: inH, inWidth: inW, outHeight: outH, outWidth: outW, pads,
    weights: randomArray(kind === 'conv' ? kernel * kernel * inC * outC : kernel * kernel * inC, seed++, -1.5, 1.5),
    bias: randomArray(outC, seed++, -0.5, 0.5),
  });
  const layers = [
    layer('c1', 'input', 'conv', 3, 2, 3, 4, 'relu6', 7, 10, 4, 5, [1, 0, 1, 1]),
    layer('d1', 'c1', 'depthwise', 3, 2, 4, 4, 'relu6', 4, 5, 2, 3, [0, 1, 1, 1]),
    layer('p1', 'd1', 'conv', 3, 1, 4, 6, 'relu6', 2, 3, 1, 3, [0, 2, 1, 0]),
    layer('d2', 'c1', 'depthwise', 3, 1, 4, 4, 'linear', 4, 5, 4, 4, [2, 0, 0, 1]),
    layer('h0/box', 'd2', 'conv', 1, 1, 4, 2 * 4, 'linear', 4, 4, 4, 4, [0, 0, 0, 0]),
    layer('h0/cls', 'd2', 'conv', 1, 1, 4, 2 * 3, 'linear', 4, 4, 4, 4, [0, 0, 0, 0]),
    layer('h1/box', 'p1', 'conv', 1, 1, 6, 1 * 4, 'linear', 1, 3, 1, 3, [0, 0, 0, 0]),
    layer('h1/cls', 'p1', 'conv', 1, 1, 6, 1 * 3, 'linear', 1, 3, 1, 3, [0, 0, 0, 0]),
  ];
  return {
    inputHeight: 7,
    inputWidth: 10,
    layers,
    heads: [
      { boxLayer: 'h0/box', classLayer: 'h0/cls', anchorsPerCell: 2, height: 4, width: 4 },
      { boxLayer: 'h1/box', classLayer: 'h1/cls', anchorsPerCell: 1, height: 1, width: 3 },
    ],
    numAnchors: 4 * 4 * 2 + 1 * 3 * 1,
    numClasses: 3,
  };
}

/** The face descriptor lowered for a smaller input (the engine does not care about anchors). */
function faceGraphAt(model: LoadedModel, size: number): SsdGraph {
  const descriptor = { ...model.descriptor, input: { ...model.descriptor.input, width: size, height: size } };
  return buildSsdGraph(descriptor, model.weights);
}

describe('engines/tfjs', function () {
  this.timeout(60_000);

  describe('against a plain-JS convolution on a tiny graph', () => {
    const graph = tinyGraph();
    const batch = 2;
    const input = randomArray(batch * 7 * 10 * 3, 7);
    const expected = referenceSsd(graph, input, batch);

    it('the tiny graph exercises asymmetric SAME pads, non-SAME pads and ReLU6 clipping on both sides', () => {
      const [c1, d1, p1, d2] = graph.layers;
      const same = (l: ConvLayer): number[] => {
        const h = samePadding(l.inHeight, l.kernel, l.stride);
        const w = samePadding(l.inWidth, l.kernel, l.stride);
        return [h.before, w.before, h.after, w.after];
      };
      expect(same(c1)).to.deep.equal([...c1.pads]);
      expect(same(d1)).to.deep.equal([...d1.pads]);
      expect(c1.pads[1]).to.not.equal(c1.pads[3]); // asymmetric
      expect(same(p1)).to.not.deep.equal([...p1.pads]); // conv with explicit non-SAME pads
      expect(same(d2)).to.not.deep.equal([...d2.pads]); // depthwise with explicit non-SAME pads
      const c1Out = referenceConv(input, batch, c1);
      expect(c1Out.some((v) => v === 0)).to.equal(true);
      expect(c1Out.some((v) => v === 6)).to.equal(true);
      expect(c1Out.some((v) => v > 0 && v < 6)).to.equal(true);
    });

    for (const backend of ['wasm', 'cpu']) {
      it(`${backend}: matches the reference within 1e-4, batch 2`, async () => {
        const engine = await createTfjsEngine(graph, { backend, warmupBatch: 1 });
        try {
          expect(engine.kind).to.equal('tfjs');
          expect(engine.backend).to.equal(backend);
          const out = await engine.run(input, batch);
          expect(out.batch).to.equal(batch);
          expect(out.boxEncodings.length).to.equal(batch * 35 * 4);
          expect(out.classLogits.length).to.equal(batch * 35 * 3);
          expect(maxAbsDiff(out.boxEncodings, expected.boxEncodings)).to.be.below(1e-4);
          expect(maxAbsDiff(out.classLogits, expected.classLogits)).to.be.below(1e-4);
        } finally {
          await engine.dispose();
        }
      });
    }

    it('rejects wrong input sizes and use after dispose with EngineErrors', async () => {
      const engine = await createTfjsEngine(graph, { backend: 'wasm' });
      let err: unknown;
      try {
        await engine.run(new Float32Array(7 * 10 * 3), 2);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(EngineError);
      expect((err as EngineError).message).to.include('expected 420');
      await engine.dispose();
      err = undefined;
      try {
        await engine.run(new Float32Array(7 * 10 * 3), 1);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(EngineError);
      expect((err as EngineError).message).to.include('after dispose');
    });
  });

  describe('the face model', () => {
    let model: LoadedModel;
    before(async () => {
      model = await loadModel('face');
    });

    describe('512x512 on wasm', () => {
      let engine: Engine;
      const frame = 512 * 512 * 3;
      const a = randomArray(frame, 1);
      const b = randomArray(frame, 2);
      before(async () => {
        engine = await createTfjsEngine(model.graph, { backend: 'wasm', warmupBatch: 1 });
      });
      after(async () => {
        await engine?.dispose();
      });

      it('outputs [1, 5118, 4] and [1, 5118, 3] for one frame, finite', async () => {
        const out = await engine.run(a, 1);
        expect(out.batch).to.equal(1);
        expect(out.boxEncodings.length).to.equal(5118 * 4);
        expect(out.classLogits.length).to.equal(5118 * 3);
        expect(allFinite(out.boxEncodings)).to.equal(true);
        expect(allFinite(out.classLogits)).to.equal(true);
      });

      it('a batch of 2 equals the two single-frame runs within 1e-4', async () => {
        const one = await engine.run(a, 1);
        const two = await engine.run(b, 1);
        const both = new Float32Array(2 * frame);
        both.set(a, 0);
        both.set(b, frame);
        const out = await engine.run(both, 2);
        expect(out.batch).to.equal(2);
        expect(out.boxEncodings.length).to.equal(2 * 5118 * 4);
        expect(out.classLogits.length).to.equal(2 * 5118 * 3);
        expect(allFinite(out.boxEncodings) && allFinite(out.classLogits)).to.equal(true);
        const A = 5118;
        expect(maxAbsDiff(out.boxEncodings.subarray(0, A * 4), one.boxEncodings)).to.be.below(1e-4);
        expect(maxAbsDiff(out.boxEncodings.subarray(A * 4), two.boxEncodings)).to.be.below(1e-4);
        expect(maxAbsDiff(out.classLogits.subarray(0, A * 3), one.classLogits)).to.be.below(1e-4);
        expect(maxAbsDiff(out.classLogits.subarray(A * 3), two.classLogits)).to.be.below(1e-4);
        // The two frames differ, so the comparison above could have caught a batch mix-up.
        expect(maxAbsDiff(one.classLogits, two.classLogits)).to.be.above(1e-2);
      });
    });

    describe('128x128 (same weights, smaller input)', () => {
      it('keeps tf.memory().numTensors constant over 1000 frames and returns to the pre-load count after dispose', async () => {
        const graph = faceGraphAt(model, 128);
        const before = tf.memory().numTensors;
        const engine = await createTfjsEngine(graph, { backend: 'wasm', warmupBatch: 4 });
        const loaded = tf.memory().numTensors;
        // Weights stay resident: one filter and one bias per layer.
        expect(loaded - before).to.equal(2 * graph.layers.length);
        const batch = 4;
        const input = randomArray(batch * 128 * 128 * 3, 3);
        let frames = 0;
        try {
          for (let i = 0; i < 250; i++) {
            const out = await engine.run(input, batch);
            frames += out.batch;
            expect(tf.memory().numTensors).to.equal(loaded);
          }
        } finally {
          await engine.dispose();
        }
        expect(frames).to.equal(1000);
        expect(tf.memory().numTensors).to.equal(before);
      });

      it('matches the plain-JS reference on the real face weights within 1e-3', async () => {
        const graph = faceGraphAt(model, 128);
        const input = randomArray(128 * 128 * 3, 5);
        const expected = referenceSsd(graph, input, 1);
        const engine = await createTfjsEngine(graph, { backend: 'wasm' });
        try {
          const out = await engine.run(input, 1);
          expect(maxAbsDiff(out.boxEncodings, expected.boxEncodings)).to.be.below(1e-3);
          expect(maxAbsDiff(out.classLogits, expected.classLogits)).to.be.below(1e-3);
        } finally {
          await engine.dispose();
        }
      });

      it('wasm and cpu agree within 1e-3 (switching the process-wide backend between runs)', async () => {
        const graph = faceGraphAt(model, 128);
        const input = randomArray(128 * 128 * 3, 4);
        const wasm = await createTfjsEngine(graph, { backend: 'wasm' });
        const cpu = await createTfjsEngine(graph, { backend: 'cpu' });
        try {
          const w = await wasm.run(input, 1);
          const c = await cpu.run(input, 1);
          expect(tf.getBackend()).to.equal('cpu');
          const w2 = await wasm.run(input, 1);
          expect(tf.getBackend()).to.equal('wasm');
          expect(maxAbsDiff(w.boxEncodings, c.boxEncodings)).to.be.below(1e-3);
          expect(maxAbsDiff(w.classLogits, c.classLogits)).to.be.below(1e-3);
          expect(maxAbsDiff(w.classLogits, w2.classLogits)).to.equal(0);
        } finally {
          await wasm.dispose();
          await cpu.dispose();
        }
      });
    });
  });
});
