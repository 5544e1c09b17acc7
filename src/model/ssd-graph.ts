import { ModelError } from '../errors.js';
import type { ModelDescriptor } from './descriptor.js';
import { requireWeight, type WeightMap } from './weights.js';

/**
 * One convolution of the lowered SSD graph: conv or depthwise conv, + bias, + activation.
 * Batch norm is already folded into weights and bias, so every runtime sees the same simple op.
 */
export interface ConvLayer {
  /** Output name; also the name other layers use as input. */
  readonly name: string;
  /** 'input' or the name of an earlier layer. */
  readonly input: string;
  readonly kind: 'conv' | 'depthwise';
  readonly kernel: number;
  readonly stride: number;
  readonly inChannels: number;
  /** For depthwise: inChannels x depth multiplier (output channel c * m + j reads input c). */
  readonly outChannels: number;
  /** TF layouts: conv [kh, kw, in, out]; depthwise [kh, kw, in, multiplier]. */
  readonly weights: Float32Array;
  /** [out] */
  readonly bias: Float32Array;
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
  /** Zero padding as [top, left, bottom, right]: TF 'SAME' (extra pixel bottom/right) or 'VALID' (none). */
  readonly pads: readonly [number, number, number, number];
}

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
  if (!('backbone' in desc.network)) {
    throw new ModelError('E_MODEL', `model ${desc.name}: its network is imported from ${desc.weights.format === 'tflite' ? desc.weights.path : 'a model file'}, not described layer by layer`, {
      hint: 'load it with loadModel(path), which lowers the imported file',
    });
  }
  const network = desc.network;
  const layers: ConvLayer[] = [];
  const shapes = new Map<string, { h: number; w: number; c: number }>([
    ['input', { h: desc.input.height, w: desc.input.width, c: 3 }],
  ]);

  const add = (
    name: string,
    input: string,
    kind: ConvLayer['kind'],
    kernel: number,
    stride: number,
    outChannels: number,
    w: Float32Array,
    bias: Float32Array,
    activation: ConvLayer['activation'],
  ): void => {
    const inShape = shapes.get(input);
    if (!inShape) throw new ModelError('E_MODEL', `layer ${name} reads ${input}, which is not defined before it`);
    const ph = samePadding(inShape.h, kernel, stride);
    const pw = samePadding(inShape.w, kernel, stride);
    layers.push({
      name, input, kind, kernel, stride,
      inChannels: inShape.c, outChannels, weights: w, bias, activation,
      inHeight: inShape.h, inWidth: inShape.w, outHeight: ph.out, outWidth: pw.out,
      pads: [ph.before, pw.before, ph.after, pw.after],
    });
    shapes.set(name, { h: ph.out, w: pw.out, c: outChannels });
  };

  // Backbone: MobileNet V1.
  const bb = network.backbone;
  const blockName = (template: string, i: number): string => template.replace('{i}', String(i));
  {
    const c0 = bb.channels[0];
    const w = requireWeight(weights, `${bb.names.conv0}/weights`, [3, 3, 3, c0]);
    const b = requireWeight(weights, `${bb.names.conv0}/convolution_bn_offset`, [c0]);
    add(bb.names.conv0, 'input', 'conv', 3, 2, c0, w.data, b.data, 'relu6');
  }
  let prev = bb.names.conv0;
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
    add(dwName, prev, 'depthwise', 3, stride, cin, folded.weights, folded.bias, 'relu6');
    const pwName = blockName(bb.names.pointwise, i);
    const pw = requireWeight(weights, `${pwName}/weights`, [1, 1, cin, cout]);
    const pb = requireWeight(weights, `${pwName}/convolution_bn_offset`, [cout]);
    add(pwName, dwName, 'conv', 1, 1, cout, pw.data, pb.data, 'relu6');
    prev = pwName;
  }

  // Extra feature layers, each reading the previous one.
  for (const ex of network.extras) {
    const cin = shapes.get(prev)!.c;
    const w = requireWeight(weights, `${ex.name}/weights`, [ex.kernel, ex.kernel, cin, ex.filters]);
    const b = requireWeight(weights, `${ex.name}/convolution_bn_offset`, [ex.filters]);
    add(ex.name, prev, 'conv', ex.kernel, ex.stride, ex.filters, w.data, b.data, 'relu6');
    prev = ex.name;
  }

  // Box predictors: 1x1 convs without activation.
  const numClasses = network.numClasses;
  const heads: HeadSpec[] = [];
  let numAnchors = 0;
  for (const p of network.predictors) {
    const src = shapes.get(p.source);
    if (!src) throw new ModelError('E_MODEL', `predictor ${p.name} reads ${p.source}, which is not a layer of the network`, {
      hint: 'check network.predictors[].source in the model descriptor',
    });
    const k = p.anchorsPerCell;
    const boxName = `${p.name}/BoxEncodingPredictor`;
    const clsName = `${p.name}/ClassPredictor`;
    const bw = requireWeight(weights, `${boxName}/weights`, [1, 1, src.c, k * 4]);
    const bb2 = requireWeight(weights, `${boxName}/biases`, [k * 4]);
    add(boxName, p.source, 'conv', 1, 1, k * 4, bw.data, bb2.data, 'linear');
    const cw = requireWeight(weights, `${clsName}/weights`, [1, 1, src.c, k * numClasses]);
    const cb = requireWeight(weights, `${clsName}/biases`, [k * numClasses]);
    add(clsName, p.source, 'conv', 1, 1, k * numClasses, cw.data, cb.data, 'linear');
    heads.push({ boxLayer: boxName, classLayer: clsName, anchorsPerCell: k, height: src.h, width: src.w });
    numAnchors += src.h * src.w * k;
  }

  return { inputHeight: desc.input.height, inputWidth: desc.input.width, layers, heads, numAnchors, numClasses };
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
