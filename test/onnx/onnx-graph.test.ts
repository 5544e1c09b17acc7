import { expect } from 'chai';
import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { ModelError, OptionError } from '../../src/errors.js';
import { buildOnnxModel, toOihw, type OnnxInputLayout } from '../../src/onnx/onnx-graph.js';
import { samePadding, type ConvLayer, type HeadSpec, type SsdGraph } from '../../src/model/ssd-graph.js';
import { loadModel } from '../../src/model-io/load-model.js';
import { referenceConv, referenceSsd } from '../helpers/reference-conv.js';
import { maxAbsDiff } from '../helpers/arrays.js';

/** Deterministic uniform numbers in [lo, hi). */
function rng(seed: number): (lo: number, hi: number) => number {
  let s = seed >>> 0;
  return (lo, hi) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + u * (hi - lo);
  };
}

type LayerDef = { name: string; input: string; kind: 'conv' | 'depthwise'; kernel: number; stride: number; out: number; activation: 'relu6' | 'linear'; scale?: number };

/**
 * A hand-made SSD graph: conv 3x3/2 -> depthwise 3x3/2 -> pointwise -> conv 2x2/1, with heads
 * on the first and last maps. Weights are large enough that ReLU6 clips on both sides.
 */
function tinyGraph(height: number, width: number, seed = 1): SsdGraph {
  const rand = rng(seed);
  const numClasses = 3;
  const defs: LayerDef[] = [
    { name: 'c0', input: 'input', kind: 'conv', kernel: 3, stride: 2, out: 4, activation: 'relu6', scale: 3 },
    { name: 'd1', input: 'c0', kind: 'depthwise', kernel: 3, stride: 2, out: 4, activation: 'relu6' },
    { name: 'p1', input: 'd1', kind: 'conv', kernel: 1, stride: 1, out: 6, activation: 'relu6' },
    // An even kernel at stride 1 pads 0 before, 1 after: asymmetric on every input size.
    { name: 'e1', input: 'p1', kind: 'conv', kernel: 2, stride: 1, out: 5, activation: 'relu6' },
    { name: 'h0/box', input: 'c0', kind: 'conv', kernel: 1, stride: 1, out: 2 * 4, activation: 'linear' },
    { name: 'h0/cls', input: 'c0', kind: 'conv', kernel: 1, stride: 1, out: 2 * numClasses, activation: 'linear' },
    { name: 'h1/box', input: 'e1', kind: 'conv', kernel: 1, stride: 1, out: 3 * 4, activation: 'linear' },
    { name: 'h1/cls', input: 'e1', kind: 'conv', kernel: 1, stride: 1, out: 3 * numClasses, activation: 'linear' },
  ];
  const shapes = new Map([['input', { h: height, w: width, c: 3 }]]);
  const layers: ConvLayer[] = defs.map((d) => {
    const src = shapes.get(d.input)!;
    const ph = samePadding(src.h, d.kernel, d.stride);
    const pw = samePadding(src.w, d.kernel, d.stride);
    const nW = d.kind === 'depthwise' ? d.kernel * d.kernel * src.c : d.kernel * d.kernel * src.c * d.out;
    shapes.set(d.name, { h: ph.out, w: pw.out, c: d.out });
    return {
      name: d.name, input: d.input, kind: d.kind, kernel: d.kernel, stride: d.stride,
      inChannels: src.c, outChannels: d.out,
      weights: Float32Array.from({ length: nW }, () => rand(-(d.scale ?? 1.5), d.scale ?? 1.5)),
      bias: Float32Array.from({ length: d.out }, () => rand(-1, 1)),
      activation: d.activation,
      inHeight: src.h, inWidth: src.w, outHeight: ph.out, outWidth: pw.out,
      pads: [ph.before, pw.before, ph.after, pw.after] as const,
    };
  });
  const heads: HeadSpec[] = [
    { boxLayer: 'h0/box', classLayer: 'h0/cls', anchorsPerCell: 2, height: shapes.get('c0')!.h, width: shapes.get('c0')!.w },
    { boxLayer: 'h1/box', classLayer: 'h1/cls', anchorsPerCell: 3, height: shapes.get('e1')!.h, width: shapes.get('e1')!.w },
  ];
  const numAnchors = heads.reduce((a, h) => a + h.height * h.width * h.anchorsPerCell, 0);
  return { inputHeight: height, inputWidth: width, layers, heads, numAnchors, numClasses };
}

function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch];
      }
    }
  }
  return out;
}

async function runOnnx(
  graph: SsdGraph,
  layout: OnnxInputLayout,
  nhwc: Float32Array,
  batch: number,
  opset?: number,
): Promise<{ box: ort.Tensor; cls: ort.Tensor }> {
  const bytes = buildOnnxModel(graph, { inputLayout: layout, opset });
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, intraOpNumThreads: 1 });
  try {
    const H = graph.inputHeight;
    const W = graph.inputWidth;
    const image = layout === 'nhwc'
      ? new ort.Tensor('float32', nhwc, [batch, H, W, 3])
      : new ort.Tensor('float32', nhwcToNchw(nhwc, batch, H, W, 3), [batch, 3, H, W]);
    const out = await session.run({ image });
    return { box: out.box_encodings, cls: out.class_logits };
  } finally {
    await session.release();
  }
}

describe('engines/onnx-graph', () => {
  describe('toOihw', () => {
    it('moves conv weights [kh, kw, in, out] to [out, in, kh, kw]', () => {
      // kh=kw=2, in=2, out=3; value encodes its TF index as ky*1000 + kx*100 + i*10 + o.
      const k = 2, I = 2, O = 3;
      const w = new Float32Array(k * k * I * O);
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) {
        w[((y * k + x) * I + i) * O + o] = y * 1000 + x * 100 + i * 10 + o;
      }
      const layer = { kind: 'conv', kernel: k, inChannels: I, outChannels: O, weights: w } as ConvLayer;
      const t = toOihw(layer);
      // [o=2, i=1, y=1, x=0]
      expect(t[((2 * I + 1) * k + 1) * k + 0]).to.equal(1000 + 0 + 10 + 2);
      expect(t[0]).to.equal(0);
      expect(t[1]).to.equal(100); // [o=0, i=0, y=0, x=1]
    });

    it('moves depthwise weights [kh, kw, C, 1] to [C, 1, kh, kw]', () => {
      const k = 3, C = 2;
      const w = new Float32Array(k * k * C);
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let c = 0; c < C; c++) w[(y * k + x) * C + c] = y * 100 + x * 10 + c;
      const t = toOihw({ kind: 'depthwise', kernel: k, inChannels: C, outChannels: C, weights: w } as ConvLayer);
      expect(Array.from(t.subarray(9, 18))).to.deep.equal([1, 11, 21, 101, 111, 121, 201, 211, 221]);
    });
  });

  describe('model structure', () => {
    const graph = tinyGraph(8, 8);
    type Dim = { dimParam?: string; dimValue?: number };
    type Attr = { name: string; i?: number; f?: number; ints?: number[] };
    type Node = { opType: string; input: string[]; output: string[]; attribute: Attr[] };
    type Value = { name: string; type: { tensorType: { elemType: number; shape: { dim: Dim[] } } } };
    type Decoded = {
      irVersion: number;
      opsetImport: { domain: string; version: number }[];
      graph: { input: Value[]; output: Value[]; node: Node[]; initializer: { name: string; dims: number[]; rawData: Uint8Array }[] };
    };
    /** Decodes the serialized model into plain objects (int64 as numbers). */
    const decode = (layout: OnnxInputLayout, opset?: number): Decoded =>
      onnxProto.onnx.ModelProto.toObject(onnxProto.onnx.ModelProto.decode(buildOnnxModel(graph, { inputLayout: layout, opset })), {
        longs: Number,
        defaults: true,
      }) as Decoded;
    const dims = (v: Value) => v.type.tensorType.shape.dim.map((d) => d.dimParam || Number(d.dimValue));

    it('declares opset 10 by default (OpenCV 4.6 reads its Clip), input image with a dynamic batch, and the two outputs', () => {
      const m = decode('nhwc');
      expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).to.deep.equal([['', 10]]);
      expect(m.irVersion).to.equal(5);
      expect(decode('nhwc', 13).irVersion).to.equal(7);
      const input = m.graph.input[0];
      expect(input.name).to.equal('image');
      expect(input.type.tensorType.elemType).to.equal(1);
      expect(dims(input)).to.deep.equal(['batch', 8, 8, 3]);
      const outs = m.graph.output.map((o) => [o.name, dims(o)]);
      expect(outs).to.deep.equal([
        ['box_encodings', ['batch', graph.numAnchors, 4]],
        ['class_logits', ['batch', graph.numAnchors, 3]],
      ]);
    });

    it('uses one input Transpose for NHWC and none for NCHW', () => {
      const transposesOfImage = (layout: OnnxInputLayout) =>
        decode(layout).graph.node.filter((n) => n.opType === 'Transpose' && n.input[0] === 'image').length;
      expect(transposesOfImage('nhwc')).to.equal(1);
      expect(transposesOfImage('nchw')).to.equal(0);
      expect(dims(decode('nchw').graph.input[0])).to.deep.equal(['batch', 3, 8, 8]);
    });

    it('writes explicit pads, group = C for depthwise, and Clip for ReLU6', () => {
      const m = decode('nhwc', 13);
      const convs = m.graph.node.filter((n) => n.opType === 'Conv');
      expect(convs).to.have.length(graph.layers.length);
      const attr = (name: string, n: Node) => n.attribute.find((a) => a.name === name)!;
      const c0 = convs.find((n) => n.output[0].startsWith('c0'))!;
      expect(attr('pads', c0).ints).to.deep.equal([0, 0, 1, 1]); // 8 -> 4 at stride 2
      const e1 = convs.find((n) => n.output[0].startsWith('e1'))!;
      expect(attr('pads', e1).ints).to.deep.equal([0, 0, 1, 1]); // 2x2 kernel at stride 1
      const d1 = convs.find((n) => n.output[0].startsWith('d1'))!;
      expect(attr('group', d1).i).to.equal(4);
      expect(attr('group', c0).i).to.equal(1);
      const w = m.graph.initializer.find((t) => t.name === 'd1/W')!;
      expect(w.dims).to.deep.equal([4, 1, 3, 3]);
      expect(w.rawData.length).to.equal(4 * 9 * 4);
      const clips = m.graph.node.filter((n) => n.opType === 'Clip');
      expect(clips).to.have.length(graph.layers.filter((l) => l.activation === 'relu6').length);
      expect(clips[0].input).to.have.length(3); // opset 11+: min and max are inputs
      const old = decode('nhwc').graph.node.filter((n) => n.opType === 'Clip');
      expect(old[0].input).to.have.length(1); // the default opset 10: min and max are attributes
      expect(old[0].attribute.map((a) => [a.name, a.f])).to.deep.equal([['min', 0], ['max', 6]]);
    });

    it('rejects a bad opset or layout and an inconsistent graph', () => {
      expect(() => buildOnnxModel(graph, { inputLayout: 'nhwc', opset: 3 })).to.throw(OptionError, /opset/);
      expect(() => buildOnnxModel(graph, { inputLayout: 'nhcw' as OnnxInputLayout })).to.throw(OptionError, /inputLayout/);
      const broken = { ...graph, layers: graph.layers.map((l) => (l.name === 'd1' ? { ...l, input: 'nowhere' } : l)) };
      expect(() => buildOnnxModel(broken, { inputLayout: 'nhwc' })).to.throw(ModelError, /nowhere/);
      expect(() => buildOnnxModel({ ...graph, numAnchors: graph.numAnchors + 1 }, { inputLayout: 'nhwc' })).to.throw(ModelError, /anchors/);
      const short = { ...graph, layers: graph.layers.map((l) => (l.name === 'c0' ? { ...l, weights: l.weights.subarray(1) } : l)) };
      expect(() => buildOnnxModel(short, { inputLayout: 'nhwc' })).to.throw(ModelError, /c0/);
    });
  });

  describe('numerics against a JS reference convolution', () => {
    // 8x8: stride-2 layers pad [0, 1]; 7x10: height pads [1, 1] (odd), width [0, 1];
    // 9x5: odd on both axes. The 2x2 layer pads [0, 1] everywhere.
    const sizes: [number, number][] = [[8, 8], [7, 10], [9, 5]];
    for (const [h, w] of sizes) {
      for (const layout of ['nhwc', 'nchw'] as const) {
        it(`matches the reference within 1e-4 for a ${h}x${w} input, ${layout}, batch 2`, async () => {
          const graph = tinyGraph(h, w, h * 31 + w);
          const rand = rng(h * 7 + w);
          const batch = 2;
          const input = Float32Array.from({ length: batch * h * w * 3 }, () => rand(-1, 1));
          const ref = referenceSsd(graph, input, batch);
          const { box, cls } = await runOnnx(graph, layout, input, batch);
          expect(box.dims).to.deep.equal([batch, graph.numAnchors, 4]);
          expect(cls.dims).to.deep.equal([batch, graph.numAnchors, 3]);
          expect(maxAbsDiff(box.data as Float32Array, ref.boxEncodings)).to.be.below(1e-4);
          expect(maxAbsDiff(cls.data as Float32Array, ref.classLogits)).to.be.below(1e-4);
        });
      }
    }

    it('the test graph exercises asymmetric pads and ReLU6 clipping on both sides', () => {
      const graph = tinyGraph(7, 10, 7 * 31 + 10);
      expect(graph.layers.some((l) => l.pads[0] !== l.pads[2] || l.pads[1] !== l.pads[3])).to.equal(true);
      expect(graph.layers.find((l) => l.name === 'c0')!.pads).to.deep.equal([1, 0, 1, 1]);
      const rand = rng(3);
      const input = Float32Array.from({ length: 7 * 10 * 3 }, () => rand(-1, 1));
      const c0 = referenceConv(input, 1, graph.layers[0]);
      expect(c0.some((v) => v === 0)).to.equal(true);
      expect(c0.some((v) => v === 6)).to.equal(true);
    });

    it('also runs at opset 10 (Clip with attributes) with the same results', async () => {
      const graph = tinyGraph(8, 8);
      const rand = rng(11);
      const input = Float32Array.from({ length: 8 * 8 * 3 }, () => rand(-1, 1));
      const ref = referenceSsd(graph, input, 1);
      const { box, cls } = await runOnnx(graph, 'nhwc', input, 1, 10);
      expect(maxAbsDiff(box.data as Float32Array, ref.boxEncodings)).to.be.below(1e-4);
      expect(maxAbsDiff(cls.data as Float32Array, ref.classLogits)).to.be.below(1e-4);
    });
  });
  describe('bytes of the face model', () => {
    // The ONNX engine caches generated models by a key over the graph, not over these bytes:
    // when they change, ONNX_CACHE_FORMAT_VERSION (engines/onnx-cache.ts) must change too.
    const GOLDEN: Record<string, string> = {
      'nhwc/13': '301bf435a04c79445fd19670fb4e538e35847489bec9eecb7b4e0a8f75cd0bc3',
      'nchw/13': '2dd200ac42bc8a9881e7646299cd53474ca12e106746e905546ae9ca42e4378a',
      'nhwc/10': 'b6027c0f5187275f8a10f366f080fe46935c8eee033827fd50b5e5f6ae2a7532',
      'nchw/10': '2bc2f83ea58a839c6bd570cdddb513ce863d098bd4151949507c9f22da97783f',
    };
    it('are unchanged (sha256) for both layouts at opsets 13 and 10', async function () {
      this.timeout(60_000);
      const { graph } = await loadModel('face');
      const actual: Record<string, string> = {};
      for (const key of Object.keys(GOLDEN)) {
        const [layout, opset] = key.split('/') as [OnnxInputLayout, string];
        actual[key] = createHash('sha256').update(buildOnnxModel(graph, { inputLayout: layout, opset: Number(opset) })).digest('hex');
      }
      expect(actual).to.deep.equal(GOLDEN);
    });
  });
});
