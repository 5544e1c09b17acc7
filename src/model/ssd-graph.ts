import { ModelError } from '../errors.js';
import type { LayerListNetworkSpec, MobilenetSsdNetworkSpec, ModelDescriptor, PredictorSpec } from './descriptor.js';
import { requireWeight, type WeightMap } from './weights.js';

/**
 * One layer of the lowered SSD graph. Most are convolutions (conv or depthwise conv, + bias,
 * + activation) with batch norm already folded into weights and bias, so every runtime sees
 * the same simple op. VGG-style networks add two kinds without bias or activation:
 *   maxpool: max over kernel x kernel windows; pads are cells that never win (-inf);
 *            weights and bias are empty, outChannels = inChannels.
 *   l2norm:  y[c] = x[c] / sqrt(sum_c x[c]^2 + L2NORM_EPSILON) * scale[c] at each position;
 *            weights hold scale [C], bias is empty; kernel 1, stride 1, no pads.
 */
export interface ConvLayer {
  /** Output name; also the name other layers use as input. */
  readonly name: string;
  /** 'input' or the name of an earlier layer. */
  readonly input: string;
  readonly kind: LayerKind;
  readonly kernel: number;
  readonly stride: number;
  /** Dilation of a conv's kernel (atrous rate); absent: 1. Taps span dilation * (kernel - 1) + 1 pixels. */
  readonly dilation?: number;
  readonly inChannels: number;
  /** For depthwise: inChannels x depth multiplier (output channel c * m + j reads input c). */
  readonly outChannels: number;
  /** TF layouts: conv [kh, kw, in, out]; depthwise [kh, kw, in, multiplier]; l2norm scale [C]; maxpool none. */
  readonly weights: Float32Array;
  /** [out]; empty for maxpool and l2norm. */
  readonly bias: Float32Array;
  /** 'linear' for maxpool and l2norm. */
  readonly activation: ConvActivation;
  /**
   * Output clipped to [min, max] after the activation, when narrower than it: the range a
   * quantized model's uint8 output can hold (see tflite/tflite-to-ssd.ts). Absent: no clip.
   */
  readonly clip?: readonly [number, number];
  readonly inHeight: number;
  readonly inWidth: number;
  readonly outHeight: number;
  readonly outWidth: number;
  /** Padding as [top, left, bottom, right]: TF 'SAME' (extra pixel bottom/right), 'VALID' (none) or Caffe's (given). */
  readonly pads: readonly [number, number, number, number];
}

/** What a graph layer computes (see ConvLayer). */
export type LayerKind = 'conv' | 'depthwise' | 'maxpool' | 'l2norm';

/** Added to the sum of squares of an l2norm layer (Caffe Normalize's eps), so all-zero inputs give 0. */
export const L2NORM_EPSILON = 1e-10;

/** Activation after a convolution's bias. */
export type ConvActivation = 'relu6' | 'relu' | 'linear';

/** One box predictor head: a box-encoding conv and a class conv over the same feature map. */
export interface HeadSpec {
  readonly boxLayer: string;
  readonly classLayer: string;
  readonly anchorsPerCell: number;
  readonly height: number;
  readonly width: number;
}

/**
 * The SSD network lowered to a list of convolutions. Engines build their runtime graph from
 * this and emit two outputs:
 *   box encodings [N, numAnchors, 4] and class logits [N, numAnchors, numClasses],
 * each the concatenation over heads of the NHWC head output reshaped to [N, h*w*k, .]
 * (anchor order: head, row, column, anchor in cell: the anchor generators' order).
 */
export interface SsdGraph {
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly layers: readonly ConvLayer[];
  readonly heads: readonly HeadSpec[];
  readonly numAnchors: number;
  readonly numClasses: number;
}

/** TF 'SAME' padding for one spatial axis: output size and [before, after] pads. */
export function samePadding(size: number, kernel: number, stride: number): { out: number; before: number; after: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** TF 'VALID' padding for one spatial axis: output size, no pads. */
export function validPadding(size: number, kernel: number, stride: number): { out: number; before: number; after: number } {
  return { out: Math.floor((size - kernel) / stride) + 1, before: 0, after: 0 };
}

/** Lowers a descriptor plus weights to the engine-neutral SSD graph. */
export function buildSsdGraph(desc: ModelDescriptor, weights: WeightMap): SsdGraph {
  const network = desc.network;
  if ('imported' in network) {
    throw new ModelError('E_MODEL', `model ${desc.name}: its network is imported from ${desc.weights.format === 'tflite' ? desc.weights.path : 'a model file'}, not described layer by layer`, {
      hint: 'load it with loadModel(path), which lowers the imported file',
    });
  }
  const b = new LayerBuilder(desc.input.height, desc.input.width);
  if ('backbone' in network) {
    addMobilenetBackbone(b, network, weights);
    addMobilenetExtras(b, network, weights);
  } else {
    addLayerList(b, network, weights);
  }
  const { heads, numAnchors } = addPredictors(b, network.predictors, network.numClasses, weights);
  return { inputHeight: desc.input.height, inputWidth: desc.input.width, layers: b.layers, heads, numAnchors, numClasses: network.numClasses };
}

/** Feature map sizes by layer name, and the layers in the order they are added. */
class LayerBuilder {
  readonly layers: ConvLayer[] = [];
  private readonly shapes = new Map<string, { h: number; w: number; c: number }>();
  /** The most recently added layer ('input' before any). */
  last = 'input';

  constructor(height: number, width: number) {
    this.shapes.set('input', { h: height, w: width, c: 3 });
  }

  /** The shape of a defined map; an error naming `what` when there is none. */
  shape(name: string, what: string): { h: number; w: number; c: number } {
    const s = this.shapes.get(name);
    if (!s) throw new ModelError('E_MODEL', `${what} reads ${name}, which is not defined before it`, { hint: 'check the layer names in the model descriptor' });
    return s;
  }

  /** Adds a conv or depthwise conv with TF SAME padding. */
  addSame(name: string, input: string, kind: 'conv' | 'depthwise', kernel: number, stride: number, outChannels: number,
    w: Float32Array, bias: Float32Array, activation: ConvActivation): void {
    const s = this.shape(input, `layer ${name}`);
    const ph = samePadding(s.h, kernel, stride);
    const pw = samePadding(s.w, kernel, stride);
    this.add({
      name, input, kind, kernel, stride, inChannels: s.c, outChannels, weights: w, bias, activation,
      inHeight: s.h, inWidth: s.w, outHeight: ph.out, outWidth: pw.out, pads: [ph.before, pw.before, ph.after, pw.after],
    });
  }

  add(layer: ConvLayer): void {
    if (this.shapes.has(layer.name)) throw new ModelError('E_MODEL', `layer name ${layer.name} is used twice`, { hint: 'give every layer its own name' });
    if (!(layer.outHeight >= 1 && layer.outWidth >= 1)) {
      throw new ModelError('E_MODEL', `layer ${layer.name} makes a ${layer.outHeight}x${layer.outWidth} map from ${layer.inHeight}x${layer.inWidth}`, {
        hint: 'the input is too small for the network, or a kernel, stride or pad is wrong',
      });
    }
    this.layers.push(layer);
    this.shapes.set(layer.name, { h: layer.outHeight, w: layer.outWidth, c: layer.outChannels });
    this.last = layer.name;
  }
}

/** MobileNet V1: conv_0, then depthwise (batch norm folded) + pointwise blocks, all ReLU6. */
function addMobilenetBackbone(b: LayerBuilder, network: MobilenetSsdNetworkSpec, weights: WeightMap): void {
  const bb = network.backbone;
  const blockName = (template: string, i: number): string => template.replace('{i}', String(i));
  {
    const c0 = bb.channels[0];
    const w = requireWeight(weights, `${bb.names.conv0}/weights`, [3, 3, 3, c0]);
    const bias = requireWeight(weights, `${bb.names.conv0}/convolution_bn_offset`, [c0]);
    b.addSame(bb.names.conv0, 'input', 'conv', 3, 2, c0, w.data, bias.data, 'relu6');
  }
  for (let i = 1; i < bb.channels.length; i++) {
    const cin = bb.channels[i - 1];
    const cout = bb.channels[i];
    const dwName = blockName(bb.names.depthwise, i);
    const stride = bb.stride2Blocks.includes(i) ? 2 : 1;
    const dw = requireWeight(weights, `${dwName}/depthwise_weights`, [3, 3, cin, 1]);
    const folded = foldBatchNorm(
      dw.data,
      cin,
      requireWeight(weights, `${dwName}/BatchNorm/gamma`, [cin]).data,
      requireWeight(weights, `${dwName}/BatchNorm/beta`, [cin]).data,
      requireWeight(weights, `${dwName}/BatchNorm/moving_mean`, [cin]).data,
      requireWeight(weights, `${dwName}/BatchNorm/moving_variance`, [cin]).data,
      bb.batchNormEpsilon,
    );
    b.addSame(dwName, b.last, 'depthwise', 3, stride, cin, folded.weights, folded.bias, 'relu6');
    const pwName = blockName(bb.names.pointwise, i);
    const pw = requireWeight(weights, `${pwName}/weights`, [1, 1, cin, cout]);
    const pb = requireWeight(weights, `${pwName}/convolution_bn_offset`, [cout]);
    b.addSame(pwName, dwName, 'conv', 1, 1, cout, pw.data, pb.data, 'relu6');
  }
}

/** Extra feature layers after the backbone, each reading the previous one. */
function addMobilenetExtras(b: LayerBuilder, network: MobilenetSsdNetworkSpec, weights: WeightMap): void {
  for (const ex of network.extras) {
    const cin = b.shape(b.last, `extra layer ${ex.name}`).c;
    const w = requireWeight(weights, `${ex.name}/weights`, [ex.kernel, ex.kernel, cin, ex.filters]);
    const bias = requireWeight(weights, `${ex.name}/convolution_bn_offset`, [ex.filters]);
    b.addSame(ex.name, b.last, 'conv', ex.kernel, ex.stride, ex.filters, w.data, bias.data, 'relu6');
  }
}

/** A layer-list network (VGG-style): convs, max pools and L2 norms with Caffe padding. */
function addLayerList(b: LayerBuilder, network: LayerListNetworkSpec, weights: WeightMap): void {
  if (!Array.isArray(network.layers)) {
    throw new ModelError('E_MODEL', `network.layers must be an array of layers, received ${JSON.stringify(network.layers)}`, {
      hint: 'a network has a backbone (MobileNet SSD) or a layers list (see models/architectures/ssd300-vgg16.json)',
    });
  }
  for (const spec of network.layers) {
    const input = spec.input ?? b.last;
    const s = b.shape(input, `layer ${spec.name}`);
    const common = { name: spec.name, input, inChannels: s.c, inHeight: s.h, inWidth: s.w, activation: 'linear' as ConvActivation };
    if (spec.op === 'conv') {
      const stride = spec.stride ?? 1;
      const dilation = spec.dilation ?? 1;
      const h = caffeConvSize(s.h, spec.kernel, stride, spec.pad, dilation);
      const w = caffeConvSize(s.w, spec.kernel, stride, spec.pad, dilation);
      const p = spec.pad;
      b.add({
        ...common, kind: 'conv', kernel: spec.kernel, stride, ...(dilation !== 1 ? { dilation } : {}),
        outChannels: spec.filters, activation: spec.activation,
        weights: requireWeight(weights, `${spec.name}/weights`, [spec.kernel, spec.kernel, s.c, spec.filters]).data,
        bias: requireWeight(weights, `${spec.name}/biases`, [spec.filters]).data,
        outHeight: h, outWidth: w, pads: [p, p, p, p],
      });
    } else if (spec.op === 'maxpool') {
      const ph = caffePoolPadding(s.h, spec.kernel, spec.stride, spec.pad ?? 0, spec.ceilMode ?? false);
      const pw = caffePoolPadding(s.w, spec.kernel, spec.stride, spec.pad ?? 0, spec.ceilMode ?? false);
      b.add({
        ...common, kind: 'maxpool', kernel: spec.kernel, stride: spec.stride, outChannels: s.c,
        weights: new Float32Array(0), bias: new Float32Array(0),
        outHeight: ph.out, outWidth: pw.out, pads: [ph.before, pw.before, ph.after, pw.after],
      });
    } else if (spec.op === 'l2norm') {
      b.add({
        ...common, kind: 'l2norm', kernel: 1, stride: 1, outChannels: s.c,
        weights: requireWeight(weights, `${spec.name}/scale`, [s.c]).data, bias: new Float32Array(0),
        outHeight: s.h, outWidth: s.w, pads: [0, 0, 0, 0],
      });
    } else {
      throw new ModelError('E_MODEL', `layer ${(spec as { name?: string }).name}: op must be "conv", "maxpool" or "l2norm", received ${JSON.stringify((spec as { op?: unknown }).op)}`, {
        hint: 'check network.layers[].op in the model descriptor',
      });
    }
  }
}

/** Box predictors: a box-encoding and a class conv per source map, linear, TF SAME padding. */
function addPredictors(b: LayerBuilder, predictors: readonly PredictorSpec[], numClasses: number, weights: WeightMap): { heads: HeadSpec[]; numAnchors: number } {
  const heads: HeadSpec[] = [];
  let numAnchors = 0;
  for (const p of predictors) {
    const src = b.shape(p.source, `predictor ${p.name}`);
    const k = p.anchorsPerCell;
    const kernel = p.kernel ?? 1;
    const boxName = `${p.name}/BoxEncodingPredictor`;
    const clsName = `${p.name}/ClassPredictor`;
    const bw = requireWeight(weights, `${boxName}/weights`, [kernel, kernel, src.c, k * 4]);
    const bb = requireWeight(weights, `${boxName}/biases`, [k * 4]);
    b.addSame(boxName, p.source, 'conv', kernel, 1, k * 4, bw.data, bb.data, 'linear');
    const cw = requireWeight(weights, `${clsName}/weights`, [kernel, kernel, src.c, k * numClasses]);
    const cb = requireWeight(weights, `${clsName}/biases`, [k * numClasses]);
    b.addSame(clsName, p.source, 'conv', kernel, 1, k * numClasses, cw.data, cb.data, 'linear');
    heads.push({ boxLayer: boxName, classLayer: clsName, anchorsPerCell: k, height: src.h, width: src.w });
    numAnchors += src.h * src.w * k;
  }
  return { heads, numAnchors };
}

/** Caffe/PyTorch convolution output size: floor((size + 2 pad - dilation (kernel - 1) - 1) / stride) + 1. */
export function caffeConvSize(size: number, kernel: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * Caffe/PyTorch max-pool output size and pads for one axis. ceilMode rounds up, but the last
 * window must start inside the input or the left pad (PyTorch's rule); the extra cells the
 * rounding needs are padding after (bottom/right), so out = floor((size + before + after - kernel) / stride) + 1
 * holds for ONNX and TF.js.
 */
export function caffePoolPadding(size: number, kernel: number, stride: number, pad: number, ceilMode: boolean): { out: number; before: number; after: number } {
  const span = size + 2 * pad - kernel;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return { out, before: pad, after: Math.max(pad, (out - 1) * stride + kernel - size - pad) };
}

/**
 * Folds inference-mode batch norm into a depthwise kernel [kh, kw, C, 1]:
 * y = gamma * (x - mean) / sqrt(var + eps) + beta  =>  w' = w * g', b' = beta - mean * g'.
 */
export function foldBatchNorm(
  kernel: Float32Array,
  channels: number,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  epsilon: number,
): { weights: Float32Array; bias: Float32Array } {
  const g = new Float64Array(channels);
  const bias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    g[c] = gamma[c] / Math.sqrt(variance[c] + epsilon);
    bias[c] = beta[c] - mean[c] * g[c];
  }
  const weights = new Float32Array(kernel.length);
  for (let i = 0; i < kernel.length; i++) weights[i] = kernel[i] * g[i % channels];
  return { weights, bias };
}
