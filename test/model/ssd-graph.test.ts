import { expect } from 'chai';
import { ModelError } from '../../src/errors.js';
import type { LayerListNetworkSpec, LayerSpec, ModelDescriptor, MobilenetSsdNetworkSpec } from '../../src/model/descriptor.js';
import { buildSsdGraph, caffeConvSize, caffePoolPadding, foldBatchNorm, samePadding, type SsdGraph } from '../../src/model/ssd-graph.js';
import type { WeightMap } from '../../src/model/weights.js';
import { readDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { loadWeights } from '../../src/model-io/read-weights.js';
import { maxAbsDiff, randomFloats } from '../helpers/arrays.js';
import { randomLayerListWeights, readLayerListDescriptor } from '../onnx/layer-list-fixture.js';

describe('model/ssd-graph', () => {
  describe('samePadding', () => {
    // TF 'SAME': out = ceil(in / stride), total = max((out - 1) * stride + kernel - in, 0),
    // before = floor(total / 2), the odd pixel after.
    const table: [size: number, kernel: number, stride: number, out: number, before: number, after: number][] = [
      [512, 3, 2, 256, 0, 1], // the face model's first conv: one extra pixel, bottom/right
      [256, 3, 1, 256, 1, 1],
      [32, 1, 1, 32, 0, 0],
      [5, 3, 2, 3, 1, 1],
      [4, 3, 2, 2, 0, 1],
      [7, 1, 2, 4, 0, 0],
      [2, 3, 2, 1, 0, 1],
      [1, 3, 2, 1, 1, 1], // 1x1 map, 3x3 kernel: padded on both sides
      [9, 5, 3, 3, 1, 1],
      [10, 4, 3, 4, 1, 2],
    ];
    for (const [size, kernel, stride, out, before, after] of table) {
      it(`size ${size}, kernel ${kernel}, stride ${stride} -> out ${out}, pads ${before}/${after}`, () => {
        expect(samePadding(size, kernel, stride)).to.deep.equal({ out, before, after });
      });
    }
  });

  describe('foldBatchNorm', () => {
    it('scales each channel by gamma / sqrt(var + eps) and moves mean and beta into the bias (golden values)', () => {
      // kernel [kh=2, kw=1, C=2, 1]: channels alternate in memory.
      const kernel = Float32Array.of(1, 2, 3, 4);
      const { weights, bias } = foldBatchNorm(kernel, 2,
        Float32Array.of(1, 2), // gamma
        Float32Array.of(0.5, -1), // beta
        Float32Array.of(1, 3), // mean
        Float32Array.of(3, 0), // variance
        1); // epsilon
      // g = [1 / sqrt(4), 2 / sqrt(1)] = [0.5, 2]
      expect(Array.from(weights)).to.deep.equal([0.5, 4, 1.5, 8]);
      expect(Array.from(bias)).to.deep.equal([0, -7]); // [0.5 - 1 * 0.5, -1 - 3 * 2]
      expect(Array.from(kernel), 'the input kernel is left alone').to.deep.equal([1, 2, 3, 4]);
    });

    it('a depthwise conv with the folded kernel equals batch norm applied after the original', () => {
      const C = 5;
      const taps = 9; // 3x3
      const kernel = randomFloats(taps * C, 1);
      const gamma = randomFloats(C, 2, 0.5, 2);
      const beta = randomFloats(C, 3);
      const mean = randomFloats(C, 4);
      const variance = randomFloats(C, 5, 0.01, 3);
      const eps = 0.001;
      const x = randomFloats(taps * C, 6, -3, 3); // one 3x3 window of the input
      const { weights, bias } = foldBatchNorm(kernel, C, gamma, beta, mean, variance, eps);
      for (let c = 0; c < C; c++) {
        let conv = 0;
        let folded = bias[c];
        for (let t = 0; t < taps; t++) {
          conv += kernel[t * C + c] * x[t * C + c];
          folded += weights[t * C + c] * x[t * C + c];
        }
        const bn = (gamma[c] * (conv - mean[c])) / Math.sqrt(variance[c] + eps) + beta[c];
        expect(folded, `channel ${c}`).to.be.closeTo(bn, 1e-5);
      }
    });
  });

  describe('buildSsdGraph on the face model', () => {
    let descriptor: ModelDescriptor;
    let weights: WeightMap;
    let graph: SsdGraph;

    before(async () => {
      descriptor = readDescriptor(resolveDescriptorPath('face'));
      weights = await loadWeights(descriptor.weights);
      graph = buildSsdGraph(descriptor, weights);
    });

    it('has 47 convolutions: conv0, 13 depthwise + pointwise blocks, 8 extras, 6 heads of two', () => {
      expect(graph.layers).to.have.length(1 + 13 * 2 + 8 + 6 * 2);
      expect(graph.layers.filter((l) => l.kind === 'depthwise')).to.have.length(13);
      expect(graph.layers.filter((l) => l.activation === 'linear')).to.have.length(12); // the heads only
      expect(new Set(graph.layers.map((l) => l.name)).size, 'names are unique').to.equal(47);
      expect(graph).to.include({ inputHeight: 512, inputWidth: 512, numClasses: 3 });
    });

    it('starts with a 3x3/2 conv from 512x512x3 to 256x256x32, padded one pixel bottom/right', () => {
      expect(graph.layers[0]).to.deep.include({
        name: 'MobilenetV1/Conv2d_0_pointwise', input: 'input', kind: 'conv', kernel: 3, stride: 2,
        inChannels: 3, outChannels: 32, inHeight: 512, inWidth: 512, outHeight: 256, outWidth: 256, activation: 'relu6',
      });
      expect(graph.layers[0].pads).to.deep.equal([0, 0, 1, 1]);
    });

    it('chains every layer to one defined before it, with matching sizes and weight lengths', () => {
      const shapes = new Map([['input', [512, 512, 3]]]);
      for (const l of graph.layers) {
        const src = shapes.get(l.input);
        expect(src, `${l.name} reads ${l.input}`).to.not.equal(undefined);
        expect([l.inHeight, l.inWidth, l.inChannels], l.name).to.deep.equal(src);
        expect(l.weights.length, l.name).to.equal(l.kind === 'depthwise' ? l.kernel * l.kernel * l.inChannels : l.kernel * l.kernel * l.inChannels * l.outChannels);
        expect(l.bias.length, l.name).to.equal(l.outChannels);
        shapes.set(l.name, [l.outHeight, l.outWidth, l.outChannels]);
      }
    });

    it('has six heads of 32x32x3, 16x16x6, 8x8x6, 4x4x6, 2x2x6, 1x1x6: 5118 anchors', () => {
      expect(graph.heads.map((h) => [h.height, h.width, h.anchorsPerCell])).to.deep.equal([
        [32, 32, 3], [16, 16, 6], [8, 8, 6], [4, 4, 6], [2, 2, 6], [1, 1, 6],
      ]);
      expect(graph.numAnchors).to.equal(3072 + 1536 + 384 + 96 + 24 + 6);
      expect(graph.numAnchors).to.equal(5118);
      const byName = new Map(graph.layers.map((l) => [l.name, l]));
      for (const h of graph.heads) {
        expect(byName.get(h.boxLayer)!.outChannels, h.boxLayer).to.equal(h.anchorsPerCell * 4);
        expect(byName.get(h.classLayer)!.outChannels, h.classLayer).to.equal(h.anchorsPerCell * 3);
        expect(byName.get(h.boxLayer)!.outHeight).to.equal(h.height);
      }
    });

    it('folds each depthwise layer\'s batch norm into its kernel and bias', () => {
      const name = 'MobilenetV1/Conv2d_5_depthwise';
      const layer = graph.layers.find((l) => l.name === name)!;
      const w = (suffix: string): Float32Array => weights.get(`${name}/${suffix}`)!.data;
      const folded = foldBatchNorm(w('depthwise_weights'), 256, w('BatchNorm/gamma'), w('BatchNorm/beta'),
        w('BatchNorm/moving_mean'), w('BatchNorm/moving_variance'), (descriptor.network as MobilenetSsdNetworkSpec).backbone.batchNormEpsilon);
      expect(maxAbsDiff(layer.weights, folded.weights)).to.equal(0);
      expect(maxAbsDiff(layer.bias, folded.bias)).to.equal(0);
      expect(maxAbsDiff(layer.weights, w('depthwise_weights')), 'not the raw kernel').to.be.above(1e-3);
    });

    it('fails with E_WEIGHTS naming a missing weight, and E_MODEL for a predictor reading no layer', () => {
      const missing = new Map(weights);
      missing.delete('Prediction/Conv2d_3_pointwise/weights');
      expect(() => buildSsdGraph(descriptor, missing)).to.throw(ModelError, 'weight Prediction/Conv2d_3_pointwise/weights is missing')
        .with.property('code', 'E_WEIGHTS');

      const predictors = (descriptor.network as MobilenetSsdNetworkSpec).predictors.map((p, i) => (i === 2 ? { ...p, source: 'Prediction/Conv2d_9_pointwise' } : p));
      const bad = { ...descriptor, network: { ...descriptor.network, predictors } };
      let err: unknown;
      try {
        buildSsdGraph(bad, weights);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ModelError);
      expect(err).to.include({ code: 'E_MODEL' });
      expect((err as ModelError).hint, 'a hint pointing at the descriptor').to.match(/model descriptor/);
      expect((err as Error).message).to.include('Prediction/Conv2d_9_pointwise');
    });
  });

  describe('Caffe padding (layer-list networks)', () => {
    // Convolution: floor((size + 2 pad - dilation (k - 1) - 1) / stride) + 1.
    const convTable: [size: number, kernel: number, stride: number, pad: number, dilation: number, out: number][] = [
      [300, 3, 1, 1, 1, 300], // VGG convs keep the size
      [19, 3, 1, 6, 6, 19], // SSD300 fc6: dilation 6, pad 6
      [19, 3, 2, 1, 1, 10], // conv8_2
      [10, 3, 2, 1, 1, 5], // conv9_2 (TF SAME would pad 0 before, 1 after)
      [5, 3, 1, 0, 1, 3], // conv10_2
      [3, 3, 1, 0, 1, 1], // conv11_2
      [7, 3, 2, 0, 2, 2],
    ];
    for (const [size, kernel, stride, pad, dilation, out] of convTable) {
      it(`conv: size ${size}, kernel ${kernel}, stride ${stride}, pad ${pad}, dilation ${dilation} -> ${out}`, () => {
        expect(caffeConvSize(size, kernel, stride, pad, dilation)).to.equal(out);
      });
    }

    // Max pool: ceil mode rounds up (the extra cells are padding after), but the last window
    // starts inside the input or the left pad.
    const poolTable: [size: number, kernel: number, stride: number, pad: number, ceil: boolean, out: number, before: number, after: number][] = [
      [300, 2, 2, 0, false, 150, 0, 0],
      [75, 2, 2, 0, true, 38, 0, 1], // SSD300 pool3
      [75, 2, 2, 0, false, 37, 0, 0],
      [38, 2, 2, 0, true, 19, 0, 0], // exact: no extra padding
      [19, 3, 1, 1, false, 19, 1, 1], // SSD300 pool5
      [5, 3, 2, 1, true, 3, 1, 1],
      [6, 3, 2, 1, true, 4, 1, 2],
      [5, 2, 2, 1, true, 3, 1, 1], // ceil gives 4, but the 4th window would start in the right pad
    ];
    for (const [size, kernel, stride, pad, ceil, out, before, after] of poolTable) {
      it(`maxpool: size ${size}, kernel ${kernel}, stride ${stride}, pad ${pad}, ${ceil ? 'ceil' : 'floor'} -> ${out}, pads ${before}/${after}`, () => {
        const p = caffePoolPadding(size, kernel, stride, pad, ceil);
        expect(p).to.deep.equal({ out, before, after });
        // The explicit pads give the same size under the floor formula ONNX and TF.js use.
        expect(Math.floor((size + before + after - kernel) / stride) + 1).to.equal(out);
      });
    }
  });

  describe('buildSsdGraph on a layer list (models/architectures/ssd300-vgg16.json)', () => {
    const desc = readLayerListDescriptor();
    const weights = randomLayerListWeights(desc, 1);
    const withLayers = (layers: LayerSpec[]): ModelDescriptor => ({ ...desc, network: { ...desc.network, layers } as LayerListNetworkSpec });

    it('lowers 35 layers and 12 head convs: VGG16 convs and pools, the L2 norm, fc6/fc7 and 8 extras', () => {
      const graph = buildSsdGraph(desc, weights);
      const kinds = graph.layers.reduce<Record<string, number>>((n, l) => ({ ...n, [l.kind]: (n[l.kind] ?? 0) + 1 }), {});
      expect(kinds).to.deep.equal({ conv: 13 + 2 + 8 + 12, maxpool: 5, l2norm: 1 });
      expect(graph.layers.at(-1)!.name).to.equal('conv11_2_mbox/ClassPredictor');
      expect(graph.numAnchors).to.equal(8732);
    });

    it('names a missing weight, an unknown op, an undefined input, a reused name and a map that shrinks to nothing', () => {
      const missing = new Map(weights);
      missing.delete('conv4_3_norm/scale');
      expect(() => buildSsdGraph(desc, missing)).to.throw(ModelError, 'weight conv4_3_norm/scale is missing');
      const layers = desc.network.layers;
      expect(() => buildSsdGraph(withLayers([...layers.slice(0, 2), { op: 'avgpool', name: 'p' } as unknown as LayerSpec]), weights))
        .to.throw(ModelError, /layer p: op must be "conv", "maxpool" or "l2norm", received "avgpool"/);
      expect(() => buildSsdGraph(withLayers([{ ...layers[0], input: 'nowhere' }]), weights)).to.throw(ModelError, /layer conv1_1 reads nowhere/);
      expect(() => buildSsdGraph(withLayers([layers[0], { op: 'maxpool', name: 'conv1_1', kernel: 2, stride: 2 }]), weights)).to.throw(ModelError, /conv1_1 is used twice/);
      const shrink = withLayers([layers[0], ...Array.from({ length: 10 }, (_, i) => ({ op: 'maxpool' as const, name: `p${i}`, kernel: 2, stride: 2 }))]);
      expect(() => buildSsdGraph(shrink, weights)).to.throw(ModelError, /layer p\d makes a 0x0 map/);
      expect(() => buildSsdGraph({ ...desc, network: { type: 'layers', predictors: [], numClasses: 21 } as unknown as LayerListNetworkSpec }, weights))
        .to.throw(ModelError, /network.layers must be an array/);
    });
  });
});
