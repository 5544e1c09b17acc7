import { ModelError } from '../../errors.js';
import type { BoxCoderSpec, InputSpec, ScoreSpec } from '../descriptor.js';
import { samePadding, validPadding, type ConvActivation, type ConvLayer, type HeadSpec, type SsdGraph } from '../ssd-graph.js';
import { dequantize, dequantizeBias, quantizedRange } from './dequantize.js';
import type { TfliteActivation, TfliteModel, TfliteOperator, TfliteTensor } from './read-tflite.js';
import { DETECTION_POSTPROCESS } from './schema.js';

/*
 * Turns a TFLite SSD (TF Object Detection API export: convolutions, then per head a RESHAPE,
 * CONCATENATION over heads, LOGISTIC on the scores, and the custom TFLite_Detection_PostProcess)
 * into ssdpipe's engine-neutral SsdGraph plus what decoding needs.
 *
 * The graph is found by walking back from the post-process operator's inputs, not by layer
 * names: box encodings and class scores lead through RESHAPE / CONCATENATION (and LOGISTIC) to
 * one convolution per head; the convolutions those read, down to the model input, are the rest
 * of the graph. Weights are dequantized to float32, and the engines run the graph in float.
 * The LOGISTIC is left out: the graph outputs logits and the postprocessor applies the sigmoid,
 * as for every other model.
 *
 * Quantized models: each uint8 activation can only hold the real range
 * [scale * (0 - zeroPoint), scale * (255 - zeroPoint)]. TOCO relies on that instead of a fused
 * ReLU6 (the MobileNet backbone's convolutions say NONE, and their outputs hold [0, 6]), and the
 * class logits of the COCO model top out at 1.59 (score 0.83). So every layer clips to the range
 * of the tensor it writes (and, for a head, of every tensor on its way to the post-process);
 * what is left of quantization is rounding, which the float graph does not reproduce.
 */

/** The post-process operator's settings, as the file states them. */
export interface TfliteNmsOptions {
  /** Classes the post-process reports (class columns minus the background column). */
  readonly numClasses: number;
  readonly maxDetections: number;
  readonly maxClassesPerDetection: number;
  readonly detectionsPerClass: number;
  readonly useRegularNms: boolean;
  readonly iouThreshold: number;
  readonly scoreThreshold: number;
}

/** An SSD imported from a .tflite model: the lowered graph plus everything decoding needs. */
export interface TfliteSsd {
  readonly graph: SsdGraph;
  /** Resize (stretch to the input size) and normalization that give the model's input. */
  readonly input: InputSpec;
  /** Type of the model's input tensor (a uint8 model reads pixels as they are). */
  readonly inputType: string;
  /** [numAnchors, 4] as [cy, cx, h, w], dequantized from the post-process's anchor input. */
  readonly anchors: Float32Array;
  /** Scales (y, x, h, w) of the post-process. */
  readonly boxCoder: BoxCoderSpec;
  readonly scores: ScoreSpec;
  /** Class column c is the post-process's (and the label map's) class c - labelOffset. */
  readonly labelOffset: number;
  readonly nms: TfliteNmsOptions;
}

/** Options of tfliteToSsd. */
export interface TfliteToSsdOptions {
  /** Where the model came from, for error messages (e.g. its path). */
  source?: string;
  /** Float input models only: per-channel (x - mean) / std (TFLite metadata); default 127.5 / 127.5. */
  normalization?: { mean: number; std: number };
}

/** Operators the importer lowers, besides the post-process (for error messages). */
export const SUPPORTED_TFLITE_OPERATORS = ['CONV_2D', 'DEPTHWISE_CONV_2D', 'RESHAPE', 'CONCATENATION', 'LOGISTIC', DETECTION_POSTPROCESS] as const;

/** A head convolution found by walking back from a post-process input. */
interface HeadRef {
  readonly op: TfliteOperator;
  /** Intersection of the quantized ranges on the way to the post-process (before any LOGISTIC). */
  readonly range: [number, number];
  readonly sigmoid: boolean;
}

/** Lowers a parsed .tflite SSD to the engine-neutral graph; ModelError on anything it cannot. */
export function tfliteToSsd(model: TfliteModel, options: TfliteToSsdOptions = {}): TfliteSsd {
  const source = options.source ?? 'the .tflite model';
  const ctx = new Context(model, source);

  const post = model.operators.filter((o) => o.op === DETECTION_POSTPROCESS);
  if (post.length !== 1) {
    throw new ModelError('E_MODEL', `${source}: expected one ${DETECTION_POSTPROCESS} operator, found ${post.length}`, {
      hint: 'ssdpipe imports SSD models exported with TF Object Detection API\'s export_tflite_ssd_graph (with the post-process op)',
    });
  }
  const pp = post[0];
  if (pp.inputs.length < 3) throw ctx.error(`${DETECTION_POSTPROCESS} has ${pp.inputs.length} inputs, expected 3 (box encodings, class scores, anchors)`);
  const { options: nms, scales } = readNmsOptions(pp, ctx);

  // Heads, in the order the post-process concatenates them.
  const boxHeads = ctx.traceHeads(pp.inputs[0]);
  const classHeads = ctx.traceHeads(pp.inputs[1]);
  if (boxHeads.length !== classHeads.length || boxHeads.length === 0) {
    throw ctx.error(`found ${boxHeads.length} box heads and ${classHeads.length} class heads; expected the same number, at least one`);
  }
  if (boxHeads.some((h) => h.sigmoid)) throw ctx.error('the box encodings pass through LOGISTIC');
  const sigmoid = classHeads.map((h) => h.sigmoid);
  if (!sigmoid.every((s) => s === sigmoid[0]) || !sigmoid[0]) {
    throw ctx.error('expected the class scores to come from LOGISTIC (sigmoid) on every head', 'ssdpipe decodes sigmoid scores; a model with softmax or raw scores is not supported yet');
  }

  const classColumns = ctx.lastDim(pp.inputs[1]);
  const labelOffset = classColumns - nms.numClasses;
  if (labelOffset !== 0 && labelOffset !== 1) {
    throw ctx.error(`class scores have ${classColumns} columns but ${DETECTION_POSTPROCESS} reports num_classes ${nms.numClasses}; expected ${nms.numClasses} or ${nms.numClasses + 1} columns`);
  }

  // The convolutions the heads need, down to the input, in execution order.
  const headRange = new Map<TfliteOperator, [number, number]>();
  for (const h of [...boxHeads, ...classHeads]) headRange.set(h.op, h.range);
  const inputIndex = ctx.graphInput();
  const needed = ctx.collectLayers([...headRange.keys()], inputIndex);
  const layers: ConvLayer[] = [];
  const names = new Map<number, string>([[inputIndex, 'input']]);
  const used = new Set<string>(['input']);
  for (const op of needed) {
    const layer = ctx.lowerConv(op, names, used, headRange.get(op));
    layers.push(layer);
  }

  const heads: HeadSpec[] = boxHeads.map((b, i) => {
    const c = classHeads[i];
    const bl = layers.find((l) => l.name === names.get(b.op.outputs[0]))!;
    const cl = layers.find((l) => l.name === names.get(c.op.outputs[0]))!;
    const k = bl.outChannels / 4;
    if (!Number.isInteger(k) || cl.outChannels !== k * classColumns || bl.outHeight !== cl.outHeight || bl.outWidth !== cl.outWidth) {
      throw ctx.error(`head ${i}: box layer ${bl.name} (${bl.outHeight}x${bl.outWidth}x${bl.outChannels}) and class layer ${cl.name} (${cl.outHeight}x${cl.outWidth}x${cl.outChannels}) do not describe the same anchors with 4 and ${classColumns} values each`);
    }
    return { boxLayer: bl.name, classLayer: cl.name, anchorsPerCell: k, height: bl.outHeight, width: bl.outWidth };
  });
  const numAnchors = heads.reduce((n, h) => n + h.height * h.width * h.anchorsPerCell, 0);

  const anchorTensor = ctx.tensor(pp.inputs[2]);
  if (!anchorTensor.data) throw ctx.error(`the anchors (input 2 of ${DETECTION_POSTPROCESS}, ${anchorTensor.name}) are not a constant`);
  const anchors = dequantize(anchorTensor, source);
  if (anchors.length !== numAnchors * 4) {
    throw ctx.error(`the anchor constant ${anchorTensor.name} [${anchorTensor.shape.join(',')}] holds ${anchors.length / 4} anchors, the heads give ${numAnchors}`);
  }

  const inputTensor = ctx.tensor(inputIndex);
  const [, H, W] = inputTensor.shape;
  return {
    graph: { inputHeight: H, inputWidth: W, layers, heads, numAnchors, numClasses: classColumns },
    input: { width: W, height: H, resize: 'stretch', normalize: inputNormalization(inputTensor, options.normalization, ctx) },
    inputType: inputTensor.type,
    anchors,
    boxCoder: { type: 'tf', scales: [scales[0], scales[1], scales[2], scales[3]] },
    scores: { activation: 'sigmoid', backgroundClass: labelOffset === 1 ? 0 : null },
    labelOffset,
    nms,
  };
}

/** pixel (0..255) -> the real value the model's first layer sees. */
function inputNormalization(t: TfliteTensor, norm: { mean: number; std: number } | undefined, ctx: Context): { scale: number; offset: number } {
  const q = t.quantization;
  if (t.type === 'UINT8' && q) return { scale: q.scale[0], offset: -q.scale[0] * (q.zeroPoint[0] ?? 0) };
  // int8 inputs take the pixel minus 128.
  if (t.type === 'INT8' && q) return { scale: q.scale[0], offset: -q.scale[0] * (128 + (q.zeroPoint[0] ?? 0)) };
  if (t.type === 'FLOAT32') {
    const { mean, std } = norm ?? { mean: 127.5, std: 127.5 };
    return { scale: 1 / std, offset: -mean / std };
  }
  throw ctx.error(`the input ${t.name} is ${t.type}${q ? '' : ' without quantization'}; expected UINT8, INT8 or FLOAT32`);
}

function readNmsOptions(pp: TfliteOperator, ctx: Context): { options: TfliteNmsOptions; scales: number[] } {
  const v = pp.options.kind === 'custom' ? pp.options.values : null;
  if (!v) throw ctx.error(`${DETECTION_POSTPROCESS} has no options`);
  const num = (key: string, dflt?: number): number => {
    const x = v[key] ?? dflt;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw ctx.error(`${DETECTION_POSTPROCESS} option ${key}: expected a number, received ${JSON.stringify(x)}`);
    return x;
  };
  const scales = ['y_scale', 'x_scale', 'h_scale', 'w_scale'].map((k) => num(k));
  if (scales.some((s) => !(s > 0))) throw ctx.error(`${DETECTION_POSTPROCESS} scales (y, x, h, w) must be positive, received ${scales.join(', ')}`);
  return {
    scales,
    options: {
      numClasses: num('num_classes'),
      maxDetections: num('max_detections'),
      maxClassesPerDetection: num('max_classes_per_detection', 1),
      // TFLite's defaults when the key is absent.
      detectionsPerClass: num('detections_per_class', 100),
      useRegularNms: Boolean(v.use_regular_nms ?? false),
      iouThreshold: num('nms_iou_threshold'),
      scoreThreshold: num('nms_score_threshold'),
    },
  };
}

/** Activation range [min, max] of a fused activation. */
function fusedRange(a: TfliteActivation, op: TfliteOperator, ctx: Context): [number, number] {
  switch (a) {
    case 'NONE': return [-Infinity, Infinity];
    case 'RELU': return [0, Infinity];
    case 'RELU6': return [0, 6];
    case 'RELU_N1_TO_1': return [-1, 1];
    default: throw ctx.unsupported(op, `fused activation ${a}`);
  }
}

/**
 * The activation + clip that produce [lo, hi]: ReLU6 or ReLU when the range is theirs within
 * `tolerance` (half a quantization step: the MobileNet backbone's uint8 range is [0, 5.99976],
 * which rounding cannot tell from ReLU6), else linear plus a clip.
 */
export function activationForRange(lo: number, hi: number, tolerance = 1e-6): { activation: ConvActivation; clip?: [number, number] } {
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= tolerance;
  if (lo === -Infinity && hi === Infinity) return { activation: 'linear' };
  if (near(lo, 0) && near(hi, 6)) return { activation: 'relu6' };
  if (near(lo, 0) && hi === Infinity) return { activation: 'relu' };
  return { activation: 'linear', clip: [lo, hi] };
}

/** The model plus lookups, and the error helpers that name the model file. */
class Context {
  private readonly producers = new Map<number, TfliteOperator>();

  constructor(readonly model: TfliteModel, readonly source: string) {
    for (const op of model.operators) for (const t of op.outputs) this.producers.set(t, op);
  }

  error(what: string, hint = 'ssdpipe imports SSD models exported with TF Object Detection API\'s export_tflite_ssd_graph'): ModelError {
    return new ModelError('E_MODEL', `${this.source}: ${what}`, { hint });
  }

  unsupported(op: TfliteOperator, what?: string): ModelError {
    return new ModelError('E_MODEL', `${this.source}: operator ${op.index} (${op.op})${what ? ` with ${what}` : ''} is not supported by ssdpipe's TFLite import`, {
      hint: `supported: ${SUPPORTED_TFLITE_OPERATORS.join(', ')} with fused NONE, RELU, RELU6 or RELU_N1_TO_1, square kernels, equal strides, no dilation`,
    });
  }

  tensor(i: number): TfliteTensor {
    const t = this.model.tensors[i];
    if (!t) throw this.error(`refers to tensor ${i}, the subgraph has ${this.model.tensors.length}`, 'the .tflite file is damaged');
    return t;
  }

  lastDim(i: number): number {
    const s = this.tensor(i).shape;
    return s[s.length - 1];
  }

  graphInput(): number {
    if (this.model.inputs.length !== 1) throw this.error(`expected one input tensor, found ${this.model.inputs.length}`);
    const i = this.model.inputs[0];
    const s = this.tensor(i).shape;
    if (s.length !== 4 || s[0] !== 1 || s[3] !== 3) throw this.error(`expected the input to be an image [1, H, W, 3], received [${s.join(',')}]`);
    return i;
  }

  /** Walks back from a post-process input to the head convolutions, in concatenation order. */
  traceHeads(t: number, ranges: [number, number][] = [], sigmoid = false): HeadRef[] {
    const tensor = this.tensor(t);
    const r = quantizedRange(tensor);
    const here = r ? [...ranges, r] : ranges;
    const op = this.producers.get(t);
    if (!op) throw this.error(`tensor ${tensor.name} leads to ${DETECTION_POSTPROCESS} but no operator writes it`);
    switch (op.op) {
      case 'RESHAPE':
        return this.traceHeads(op.inputs[0], here, sigmoid);
      case 'CONCATENATION': {
        const rank = tensor.shape.length;
        const axis = op.options.kind === 'concatenation' ? op.options.axis : NaN;
        // Heads are concatenated along the anchor axis: [1, anchors, ...].
        if ((axis < 0 ? axis + rank : axis) !== 1) throw this.unsupported(op, `axis ${axis} (expected 1, the anchor axis)`);
        if (op.options.kind === 'concatenation' && op.options.activation !== 'NONE') throw this.unsupported(op, `fused activation ${op.options.activation}`);
        return op.inputs.flatMap((i) => this.traceHeads(i, here, sigmoid));
      }
      case 'LOGISTIC':
        if (sigmoid) throw this.error('the class scores pass through LOGISTIC twice');
        // Ranges after the sigmoid are probabilities: they do not bound the logits.
        return this.traceHeads(op.inputs[0], [], true);
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D': {
        const lo = Math.max(...here.map((x) => x[0]), -Infinity);
        const hi = Math.min(...here.map((x) => x[1]), Infinity);
        return [{ op, range: [lo, hi], sigmoid }];
      }
      default:
        throw this.unsupported(op);
    }
  }

  /** The layer operators the heads depend on, down to the model input, in execution order. */
  collectLayers(heads: TfliteOperator[], inputIndex: number): TfliteOperator[] {
    const needed = new Set<TfliteOperator>();
    const stack = [...heads];
    while (stack.length > 0) {
      const op = stack.pop()!;
      if (needed.has(op)) continue;
      if (op.op !== 'CONV_2D' && op.op !== 'DEPTHWISE_CONV_2D') throw this.unsupported(op);
      needed.add(op);
      const src = op.inputs[0];
      if (src === inputIndex) continue;
      const producer = this.producers.get(src);
      if (!producer) throw this.error(`operator ${op.index} (${op.op}) reads ${this.tensor(src).name}, which is neither the input nor written by an operator`);
      stack.push(producer);
    }
    return [...needed].sort((a, b) => a.index - b.index);
  }

  /** One CONV_2D / DEPTHWISE_CONV_2D as a ConvLayer with float32 weights in TF layout. */
  lowerConv(op: TfliteOperator, names: Map<number, string>, used: Set<string>, headRange?: [number, number]): ConvLayer {
    if (op.options.kind !== 'conv') throw this.error(`operator ${op.index} (${op.op}) has no options`, 'the .tflite file is damaged');
    const o = op.options.conv;
    const depthwise = op.op === 'DEPTHWISE_CONV_2D';
    const x = this.tensor(op.inputs[0]);
    const w = this.tensor(op.inputs[1]);
    const y = this.tensor(op.outputs[0]);
    const [, inH, inW, inC] = x.shape;
    // conv [out, kh, kw, in]; depthwise [1, kh, kw, in * multiplier]
    const [wo, kh, kw, wi] = w.shape;
    if (w.shape.length !== 4 || x.shape.length !== 4 || y.shape.length !== 4) throw this.error(`operator ${op.index} (${op.op}): expected 4-D input, weights and output`);
    if (kh !== kw) throw this.unsupported(op, `a ${kh}x${kw} kernel`);
    if (o.strideH !== o.strideW) throw this.unsupported(op, `strides ${o.strideH}x${o.strideW}`);
    if (o.dilationH !== 1 || o.dilationW !== 1) throw this.unsupported(op, `dilation ${o.dilationH}x${o.dilationW}`);
    const outC = depthwise ? wi : wo;
    if (depthwise ? wo !== 1 || outC % inC !== 0 : wi !== inC) {
      throw this.error(`operator ${op.index} (${op.op}): weights [${w.shape.join(',')}] do not fit the input [${x.shape.join(',')}]`);
    }
    const pad = o.padding === 'SAME' ? samePadding : validPadding;
    const ph = pad(inH, kh, o.strideH);
    const pw = pad(inW, kw, o.strideW);
    if (y.shape[1] !== ph.out || y.shape[2] !== pw.out || y.shape[3] !== outC) {
      throw this.error(`operator ${op.index} (${op.op}): output [${y.shape.join(',')}] is not what ${o.padding} padding with stride ${o.strideH} gives ([1,${ph.out},${pw.out},${outC}])`);
    }

    const weights = dequantize(w, this.source);
    const tfWeights = depthwise ? weights : ohwiToHwio(weights, outC, kh, kw, inC);
    const bias = op.inputs[2] !== undefined && op.inputs[2] >= 0
      ? dequantizeBias(this.tensor(op.inputs[2]), x.quantization?.scale[0] ?? 1, w.quantization?.scale ?? [1], outC, this.source)
      : new Float32Array(outC);
    if (bias.length !== outC) throw this.error(`operator ${op.index} (${op.op}): ${bias.length} biases for ${outC} output channels`);

    let [lo, hi] = fusedRange(o.activation, op, this);
    for (const r of [quantizedRange(y), headRange]) {
      if (r) {
        lo = Math.max(lo, r[0]);
        hi = Math.min(hi, r[1]);
      }
    }
    let name = y.name || `tensor_${y.index}`;
    if (used.has(name)) name = `${name}#${y.index}`;
    used.add(name);
    names.set(y.index, name);
    const input = names.get(x.index);
    if (input === undefined) throw this.error(`operator ${op.index} (${op.op}) reads ${x.name} before it is written`);
    return {
      name, input,
      kind: depthwise ? 'depthwise' : 'conv',
      kernel: kh, stride: o.strideH,
      inChannels: inC, outChannels: outC,
      weights: tfWeights, bias,
      ...activationForRange(lo, hi, y.quantization ? y.quantization.scale[0] / 2 : undefined),
      inHeight: inH, inWidth: inW, outHeight: ph.out, outWidth: pw.out,
      pads: [ph.before, pw.before, ph.after, pw.after],
    };
  }
}

/** TFLite conv weights [out, kh, kw, in] -> TF [kh, kw, in, out]. */
export function ohwiToHwio(src: Float32Array, O: number, KH: number, KW: number, I: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let o = 0; o < O; o++) {
    for (let y = 0; y < KH; y++) {
      for (let x = 0; x < KW; x++) {
        for (let i = 0; i < I; i++) dst[((y * KW + x) * I + i) * O + o] = src[((o * KH + y) * KW + x) * I + i];
      }
    }
  }
  return dst;
}
