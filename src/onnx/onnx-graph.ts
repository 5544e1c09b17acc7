import onnxProto from 'onnx-proto';
import { ModelError, OptionError } from '../errors.js';
import { L2NORM_EPSILON, type ConvLayer, type SsdGraph } from '../model/ssd-graph.js';

const onnx = onnxProto.onnx;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const ATTR_INT = onnx.AttributeProto.AttributeType.INT;
const ATTR_INTS = onnx.AttributeProto.AttributeType.INTS;
const ATTR_FLOAT = onnx.AttributeProto.AttributeType.FLOAT;

/** Memory layout of the model's `image` input. */
export type OnnxInputLayout = 'nhwc' | 'nchw';

/** Options of buildOnnxModel. */
export interface BuildOnnxOptions {
  /** nhwc: input [batch, H, W, 3], transposed to NCHW inside the model; nchw: [batch, 3, H, W]. */
  inputLayout: OnnxInputLayout;
  /** ONNX default-domain opset; DEFAULT_ONNX_OPSET when absent. */
  opset?: number;
}

/**
 * Opset used unless asked otherwise, by the ONNX engine and by `models export`. Opset 10 is the
 * last in which Clip takes min and max as attributes: OpenCV 4.6's DNN importer (Debian 12's
 * python3-opencv) rejects the Clip of opset 11+, whose min and max are inputs, so ReLU6 written
 * that way fails to load there. ONNX Runtime fuses Conv + Clip at either opset and runs both at
 * the same speed (face model, 1 thread: 40 ms at batch 1, 155 ms at batch 4, opset 10 and 13
 * alike), whereas ReLU6 as Relu + Min at opset 13 costs 20-35% more.
 */
export const DEFAULT_ONNX_OPSET = 10;

/** Name of the model's input. */
export const ONNX_INPUT_NAME = 'image';

/** Names of the model's outputs: [batch, A, 4] box encodings and [batch, A, C] class logits. */
export const ONNX_OUTPUT_NAMES = { boxEncodings: 'box_encodings', classLogits: 'class_logits' } as const;

/** Name of the dynamic batch dimension. */
export const ONNX_BATCH_DIM = 'batch';

/** Lowest opset whose IR version this builder knows; Reshape takes its shape as an input from 5 on. */
const MIN_OPSET = 7;
/** IR version that introduced each opset (onnx/onnx docs/Versioning.md). */
const IR_VERSION_FOR_OPSET: Record<number, number> = {
  7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10,
};
const MAX_OPSET = 21;

type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/**
 * Builds a serialized ONNX ModelProto from the engine-neutral SSD graph.
 * Input `image` float32 ([batch, H, W, 3] or [batch, 3, H, W]); outputs
 * `box_encodings` [batch, A, 4] and `class_logits` [batch, A, C]. Conv weights are float32
 * raw_data initializers in OIHW; ReLU6 is Clip(0, 6), ReLU Relu, a layer's clip one Clip;
 * a layer's padding becomes explicit pads; max pooling is MaxPool, L2 norm ReduceSumSquare, Add, Sqrt, Div, Mul.
 */
export function buildOnnxModel(graph: SsdGraph, opts: BuildOnnxOptions): Uint8Array {
  const opset = checkBuildOptions(opts);
  const g = new GraphParts(opset);
  const maps = lowerInput(g, graph, opts.inputLayout);
  lowerLayers(g, graph, maps);
  const { boxParts, classParts } = lowerHeads(g, graph, maps);
  lowerOutputs(g, boxParts, classParts);
  return assembleModel(g, graph, opts.inputLayout);
}

/** Nodes and initializers in the order they are written (the order fixes the model's bytes). */
class GraphParts {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** Opset 11+ takes Clip's min and max as inputs; before, as attributes. */
  readonly clipAsInputs: boolean;

  constructor(readonly opset: number) {
    this.clipAsInputs = opset >= 11;
  }
}

/** A feature map the lowered graph has defined so far, NCHW, with its ONNX tensor name. */
interface DefinedMap {
  readonly tensor: string;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** Feature maps by graph name ('input' is the image), as the layers define them. */
type DefinedMaps = Map<string, DefinedMap>;

/** Checks the options; returns the opset. */
function checkBuildOptions(opts: BuildOnnxOptions): number {
  const opset = opts.opset ?? DEFAULT_ONNX_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OptionError('opset', `an integer from ${MIN_OPSET} to ${MAX_OPSET}`, opts.opset);
  }
  if (opts.inputLayout !== 'nhwc' && opts.inputLayout !== 'nchw') {
    throw new OptionError('inputLayout', '"nhwc" or "nchw"', opts.inputLayout);
  }
  return opset;
}

/**
 * The input in NCHW (one Transpose for an NHWC input) and the shared ReLU6 bounds. Returns the
 * feature-map table with 'input' defined.
 */
function lowerInput(g: GraphParts, graph: SsdGraph, layout: OnnxInputLayout): DefinedMaps {
  let inputNchw: string = ONNX_INPUT_NAME;
  if (layout === 'nhwc') {
    // [batch, H, W, 3] -> [batch, 3, H, W]
    inputNchw = `${ONNX_INPUT_NAME}/nchw`;
    g.nodes.push(node('Transpose', [ONNX_INPUT_NAME], [inputNchw], `${ONNX_INPUT_NAME}/to_nchw`, [intsAttr('perm', [0, 3, 1, 2])]));
  }
  if (g.clipAsInputs) {
    g.initializers.push(floatTensor('relu6/min', [], new Float32Array([0])), floatTensor('relu6/max', [], new Float32Array([6])));
  }
  return new Map([['input', { tensor: inputNchw, c: 3, h: graph.inputHeight, w: graph.inputWidth }]]);
}

/** Every layer in graph order, each checked against the maps defined before it. */
function lowerLayers(g: GraphParts, graph: SsdGraph, maps: DefinedMaps): void {
  for (const layer of graph.layers) {
    checkLayer(layer, maps);
    const x = maps.get(layer.input)!.tensor;
    if (layer.kind === 'maxpool') lowerMaxPool(g, layer, x);
    else if (layer.kind === 'l2norm') lowerL2Norm(g, layer, x);
    else lowerConv(g, layer, x);
    maps.set(layer.name, { tensor: layer.name, c: layer.outChannels, h: layer.outHeight, w: layer.outWidth });
  }
}

/** MaxPool with explicit pads (ONNX pads never win a max), so Caffe's ceil mode needs no ceil_mode attribute. */
function lowerMaxPool(g: GraphParts, layer: ConvLayer, x: string): void {
  const k = layer.kernel;
  // [batch, C, h, w] -> [batch, C, outH, outW]
  g.nodes.push(node('MaxPool', [x], [layer.name], `${layer.name}/MaxPool`, [
    intsAttr('kernel_shape', [k, k]),
    intsAttr('strides', [layer.stride, layer.stride]),
    intsAttr('pads', [...layer.pads]),
  ]));
}

/**
 * L2 normalization over channels times the learned scale, as the graph defines it:
 * x / Sqrt(ReduceSumSquare_c(x) + eps) * scale. Not LpNormalization: OpenCV 4.6 has no such
 * layer, and it has no epsilon (0 / 0 where every channel is 0).
 */
function lowerL2Norm(g: GraphParts, layer: ConvLayer, x: string): void {
  const n = layer.name;
  g.initializers.push(
    floatTensor(`${n}/eps`, [], new Float32Array([L2NORM_EPSILON])),
    floatTensor(`${n}/scale`, [1, layer.outChannels, 1, 1], layer.weights),
  );
  g.nodes.push(
    // [batch, C, h, w] -> [batch, 1, h, w]
    node('ReduceSumSquare', [x], [`${n}/sum_squares`], `${n}/ReduceSumSquare`, [intsAttr('axes', [1]), intAttr('keepdims', 1)]),
    node('Add', [`${n}/sum_squares`, `${n}/eps`], [`${n}/sum_squares_eps`], `${n}/AddEps`),
    node('Sqrt', [`${n}/sum_squares_eps`], [`${n}/norm`], `${n}/Sqrt`),
    // [batch, C, h, w] / [batch, 1, h, w] * [1, C, 1, 1]
    node('Div', [x, `${n}/norm`], [`${n}/normalized`], `${n}/Div`),
    node('Mul', [`${n}/normalized`, `${n}/scale`], [n], `${n}/Mul`),
  );
}

/** Conv (group = C for depthwise) with OIHW weights and bias, then the layer's activation. */
function lowerConv(g: GraphParts, layer: ConvLayer, x: string): void {
  const group = layer.kind === 'depthwise' ? layer.inChannels : 1;
  const wName = `${layer.name}/W`;
  const bName = `${layer.name}/B`;
  const k = layer.kernel;
  g.initializers.push(
    floatTensor(wName, [layer.outChannels, layer.inChannels / group, k, k], toOihw(layer)),
    floatTensor(bName, [layer.outChannels], layer.bias),
  );
  const post = activationNodes(layer, g.clipAsInputs);
  const convOut = post ? `${layer.name}/conv` : layer.name;
  // [batch, in, h, w] -> [batch, out, outH, outW]
  g.nodes.push(node('Conv', [x, wName, bName], [convOut], `${layer.name}/Conv`, [
    intsAttr('kernel_shape', [k, k]),
    intsAttr('strides', [layer.stride, layer.stride]),
    // ONNX pads: [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right], as the layer stores them.
    intsAttr('pads', [...layer.pads]),
    intsAttr('dilations', [layer.dilation ?? 1, layer.dilation ?? 1]),
    intAttr('group', group),
  ]));
  if (post) {
    g.nodes.push(post.node(convOut));
    g.initializers.push(...post.initializers);
  }
}

/**
 * Each head's box and class maps, NCHW [batch, k*d, h, w] -> NHWC [batch, h, w, k*d] ->
 * [batch, h*w*k, d]. Returns the flattened tensors in head order, to be concatenated.
 */
function lowerHeads(g: GraphParts, graph: SsdGraph, maps: DefinedMaps): { boxParts: string[]; classParts: string[] } {
  const boxParts: string[] = [];
  const classParts: string[] = [];
  let anchors = 0;
  for (const [i, head] of graph.heads.entries()) {
    const cells = head.height * head.width * head.anchorsPerCell;
    anchors += cells;
    for (const [layerName, depth, parts] of [
      [head.boxLayer, 4, boxParts],
      [head.classLayer, graph.numClasses, classParts],
    ] as const) {
      const fm = maps.get(layerName);
      if (!fm) throw new ModelError('E_MODEL', `head ${i} reads ${layerName}, which is not a layer of the graph`);
      if (fm.c !== head.anchorsPerCell * depth || fm.h !== head.height || fm.w !== head.width) {
        throw new ModelError('E_MODEL', `head ${i}: ${layerName} is ${fm.h}x${fm.w}x${fm.c}, expected ${head.height}x${head.width}x${head.anchorsPerCell * depth}`);
      }
      parts.push(flattenHead(g, fm.tensor, cells, depth));
    }
  }
  if (anchors !== graph.numAnchors) {
    throw new ModelError('E_MODEL', `the heads give ${anchors} anchors but the graph declares numAnchors ${graph.numAnchors}`);
  }
  if (graph.heads.length === 0) throw new ModelError('E_MODEL', 'the graph has no box predictor heads');
  return { boxParts, classParts };
}

/** [batch, k*d, h, w] -> [batch, h*w*k, d] (Transpose to NHWC, Reshape); returns the output name. */
function flattenHead(g: GraphParts, x: string, cells: number, depth: number): string {
  const nhwc = `${x}/nhwc`;
  const shapeName = `${x}/shape`;
  const flat = `${x}/flat`;
  // Reshape shape [0, h*w*k, d]: 0 copies the (dynamic) batch dimension.
  g.initializers.push(int64Tensor(shapeName, [3], [0, cells, depth]));
  g.nodes.push(
    node('Transpose', [x], [nhwc], `${x}/to_nhwc`, [intsAttr('perm', [0, 2, 3, 1])]),
    node('Reshape', [nhwc, shapeName], [flat], `${x}/Reshape`),
  );
  return flat;
}

/** The two outputs: [batch, A, 4] and [batch, A, C], concatenated over heads. */
function lowerOutputs(g: GraphParts, boxParts: string[], classParts: string[]): void {
  g.nodes.push(
    node('Concat', boxParts, [ONNX_OUTPUT_NAMES.boxEncodings], 'box_encodings/Concat', [intAttr('axis', 1)]),
    node('Concat', classParts, [ONNX_OUTPUT_NAMES.classLogits], 'class_logits/Concat', [intAttr('axis', 1)]),
  );
}

/** The ModelProto around the graph (IR version of the opset, typed input and outputs), serialized. */
function assembleModel(g: GraphParts, graph: SsdGraph, layout: OnnxInputLayout): Uint8Array {
  const H = graph.inputHeight;
  const W = graph.inputWidth;
  const inputShape = layout === 'nhwc' ? [ONNX_BATCH_DIM, H, W, 3] : [ONNX_BATCH_DIM, 3, H, W];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION_FOR_OPSET[g.opset],
    opsetImport: [{ domain: '', version: g.opset }],
    producerName: 'ssdpipe',
    producerVersion: '1',
    docString: 'SSD generated by ssdpipe from an engine-neutral graph',
    graph: {
      name: 'ssd',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT_NAME, inputShape)],
      output: [
        valueInfo(ONNX_OUTPUT_NAMES.boxEncodings, [ONNX_BATCH_DIM, graph.numAnchors, 4]),
        valueInfo(ONNX_OUTPUT_NAMES.classLogits, [ONNX_BATCH_DIM, graph.numAnchors, graph.numClasses]),
      ],
    },
    metadataProps: [{ key: 'input_layout', value: layout }],
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The node applying a layer's activation and clip, or null when it has neither: ReLU6 is
 * Clip(0, 6) (shared min/max initializers), ReLU is Relu, and a clip (with or without an
 * activation) one Clip over the intersection of both ranges.
 */
function activationNodes(layer: ConvLayer, clipAsInputs: boolean): { node: (x: string) => NodeProto; initializers: TensorProto[] } | null {
  const out = layer.name;
  if (!layer.clip) {
    if (layer.activation === 'linear') return null;
    if (layer.activation === 'relu') return { node: (x) => node('Relu', [x], [out], `${out}/Relu`), initializers: [] };
    return {
      node: (x) => clipAsInputs
        ? node('Clip', [x, 'relu6/min', 'relu6/max'], [out], `${out}/Relu6`)
        : node('Clip', [x], [out], `${out}/Relu6`, [floatAttr('min', 0), floatAttr('max', 6)]),
      initializers: [],
    };
  }
  const [lo, hi] = activationRange(layer);
  if (!clipAsInputs) {
    return { node: (x) => node('Clip', [x], [out], `${out}/Clip`, [floatAttr('min', lo), floatAttr('max', hi)]), initializers: [] };
  }
  return {
    node: (x) => node('Clip', [x, `${out}/clip_min`, `${out}/clip_max`], [out], `${out}/Clip`),
    initializers: [floatTensor(`${out}/clip_min`, [], new Float32Array([lo])), floatTensor(`${out}/clip_max`, [], new Float32Array([hi]))],
  };
}

/** The [min, max] a layer's output is limited to by its activation and clip together. */
export function activationRange(layer: ConvLayer): [number, number] {
  let lo = layer.activation === 'linear' ? -Infinity : 0;
  let hi = layer.activation === 'relu6' ? 6 : Infinity;
  if (layer.clip) {
    lo = Math.max(lo, layer.clip[0]);
    hi = Math.min(hi, layer.clip[1]);
  }
  return [lo, hi];
}

/**
 * TF kernel layout to ONNX OIHW: conv [kh, kw, in, out] -> [out, in, kh, kw];
 * depthwise [kh, kw, C, m] -> [C * m, 1, kh, kw] (output channel c * m + j, group c).
 */
export function toOihw(layer: ConvLayer): Float32Array {
  const k = layer.kernel;
  const src = layer.weights;
  const dst = new Float32Array(src.length);
  if (layer.kind === 'depthwise') {
    // [kh, kw, C, m] is [kh, kw, C * m] in memory.
    const O = layer.outChannels;
    for (let o = 0; o < O; o++) {
      for (let y = 0; y < k; y++) {
        for (let x = 0; x < k; x++) dst[(o * k + y) * k + x] = src[(y * k + x) * O + o];
      }
    }
    return dst;
  }
  const I = layer.inChannels;
  const O = layer.outChannels;
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let y = 0; y < k; y++) {
        for (let x = 0; x < k; x++) dst[((o * I + i) * k + y) * k + x] = src[((y * k + x) * I + i) * O + o];
      }
    }
  }
  return dst;
}

function checkLayer(layer: ConvLayer, defined: DefinedMaps): void {
  const src = defined.get(layer.input);
  if (!src) throw new ModelError('E_MODEL', `layer ${layer.name} reads ${layer.input}, which is not defined before it`);
  if (defined.has(layer.name) || layer.name === 'input') {
    throw new ModelError('E_MODEL', `layer name ${layer.name} is used twice`);
  }
  if (src.c !== layer.inChannels || src.h !== layer.inHeight || src.w !== layer.inWidth) {
    throw new ModelError('E_MODEL', `layer ${layer.name} expects ${layer.inHeight}x${layer.inWidth}x${layer.inChannels} but ${layer.input} is ${src.h}x${src.w}x${src.c}`);
  }
  if (layer.kind === 'depthwise' && layer.outChannels % layer.inChannels !== 0) {
    throw new ModelError('E_MODEL', `depthwise layer ${layer.name} has ${layer.inChannels} inputs but ${layer.outChannels} outputs (expected a multiple)`);
  }
  if ((layer.kind === 'maxpool' || layer.kind === 'l2norm') && layer.outChannels !== layer.inChannels) {
    throw new ModelError('E_MODEL', `${layer.kind} layer ${layer.name} has ${layer.inChannels} inputs but ${layer.outChannels} outputs (expected the same)`);
  }
  const [weights, biases] = expectedParameters(layer);
  if (layer.weights.length !== weights || layer.bias.length !== biases) {
    throw new ModelError('E_MODEL', `layer ${layer.name}: ${layer.weights.length} weights and ${layer.bias.length} biases, expected ${weights} and ${biases}`);
  }
}

/** [weights, biases] a layer of its kind and size holds. */
function expectedParameters(layer: ConvLayer): [number, number] {
  const k2 = layer.kernel * layer.kernel;
  switch (layer.kind) {
    case 'depthwise': return [k2 * layer.outChannels, layer.outChannels];
    case 'maxpool': return [0, 0];
    case 'l2norm': return [layer.outChannels, 0];
    default: return [k2 * layer.inChannels * layer.outChannels, layer.outChannels];
  }
}

function node(opType: string, input: string[], output: string[], name: string, attribute: AttributeProto[] = []): NodeProto {
  return { opType, input, output, name, attribute };
}

function intAttr(name: string, i: number): AttributeProto {
  return { name, type: ATTR_INT, i };
}

function intsAttr(name: string, ints: number[]): AttributeProto {
  return { name, type: ATTR_INTS, ints };
}

function floatAttr(name: string, f: number): AttributeProto {
  return { name, type: ATTR_FLOAT, f };
}

function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return { name, dims, dataType: FLOAT, rawData: littleEndianBytes(data) };
}

function int64Tensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dims, dataType: INT64, rawData: littleEndianBytes(BigInt64Array.from(values, (v) => BigInt(v))) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ONNX raw_data is little-endian; view the array's bytes (copy and swap on big-endian hosts). */
function littleEndianBytes(data: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const n = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += n) {
    for (let j = 0; j < n; j++) swapped[i + j] = bytes[i + n - 1 - j];
  }
  return swapped;
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}
