import type { Tensor1D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { EngineError, OptionError } from '../errors.js';
import { checkOption } from '../config/validate.js';
import { L2NORM_EPSILON, type ConvLayer, type SsdGraph } from '../model/ssd-graph.js';
import type { Engine, EngineOptions, RawOutputs } from './engine.js';
import { selectTfjsBackend, TFJS_BACKEND_REQUESTS, type TfjsBackendRequest, type Tfjs } from './tfjs-backend.js';

/** Default batch size of the warm-up run at load. */
export const DEFAULT_TFJS_WARMUP_BATCH = 1;

/** A graph layer with its weights uploaded once, at load. */
interface LoadedLayer {
  readonly layer: ConvLayer;
  /** conv [kh, kw, in, out]; depthwise [kh, kw, C, multiplier]; absent for maxpool and l2norm. */
  readonly filter?: Tensor4D;
  /** conv and depthwise: bias [out]; l2norm: scale [C]; absent for maxpool. */
  readonly bias?: Tensor1D;
  /** Explicit NHWC padding [[0, 0], [top, bottom], [left, right], [0, 0]] (from the graph). */
  readonly pad: [[number, number], [number, number], [number, number], [number, number]];
  /** Names of earlier outputs no layer after this one reads: disposed right after it runs. */
  readonly release: readonly string[];
}

/**
 * Lowers an SsdGraph onto TensorFlow.js and warms it up. The backend comes from
 * selectTfjsBackend(options.backend); every conv is one fused conv2d / depthwiseConv2d with
 * bias and activation and the graph's explicit pads. A batch of N frames runs as one
 * [N, H, W, 3] tensor; outputs are read back to Float32Arrays and all tensors disposed.
 */
export async function createTfjsEngine(graph: SsdGraph, options: EngineOptions = {}): Promise<Engine> {
  const requested = (options.backend ?? 'auto') as TfjsBackendRequest;
  checkOption('backend', requested);
  const warmupBatch = options.warmupBatch ?? DEFAULT_TFJS_WARMUP_BATCH;
  if (!Number.isInteger(warmupBatch) || warmupBatch < 1) throw new OptionError('warmupBatch', 'an integer >= 1', options.warmupBatch);
  checkGraph(graph);

  const { tf, backend, reason } = await selectTfjsBackend(requested, { threads: options.threads });
  const layers = uploadLayers(tf, graph);
  const engine = new TfjsEngine(tf, graph, layers, backend, reason);
  try {
    // Warm-up: the first run initializes kernels (XNNPACK operators on wasm) for these shapes.
    await engine.run(new Float32Array(warmupBatch * graph.inputHeight * graph.inputWidth * 3), warmupBatch);
  } catch (cause) {
    await engine.dispose();
    throw new EngineError(`${(cause as Error).message} (warm-up run at load)`, {
      cause,
      hint: 'try another backend with --backend wasm or --backend cpu',
    });
  }
  return engine;
}

class TfjsEngine implements Engine {
  readonly kind = 'tfjs' as const;
  private disposed = false;

  constructor(
    private readonly tf: Tfjs,
    private readonly graph: SsdGraph,
    private readonly layers: readonly LoadedLayer[],
    readonly backend: string,
    readonly reason: string,
  ) {}

  async run(input: Float32Array, batch: number): Promise<RawOutputs> {
    const { tf, graph } = this;
    if (this.disposed) throw new EngineError('tfjs engine used after dispose()', { hint: 'create a new engine' });
    const frameSize = graph.inputHeight * graph.inputWidth * 3;
    if (!Number.isInteger(batch) || batch < 1) throw new EngineError(`tfjs run: batch must be an integer >= 1, received ${batch}`);
    if (input.length !== batch * frameSize) {
      throw new EngineError(
        `tfjs run: input has ${input.length} floats, expected ${batch * frameSize} ` +
          `([${batch}, ${graph.inputHeight}, ${graph.inputWidth}, 3])`,
        { hint: 'frames must be resized to the model input and normalized before inference' },
      );
    }
    // tfjs has one active backend per process; another engine may have switched it.
    if (tf.getBackend() !== this.backend) await tf.setBackend(this.backend);

    try {
      // [batch, H, W, 3]
      const x = tf.tensor4d(input, [batch, graph.inputHeight, graph.inputWidth, 3], 'float32');
      let outputs: [Tensor3D, Tensor3D];
      try {
        outputs = tf.tidy(() => this.forward(x, batch));
      } finally {
        x.dispose();
      }
      const [boxes, classes] = outputs;
      try {
        // boxes [batch, A, 4]; classes [batch, A, C]
        const [boxData, classData] = await Promise.all([boxes.data(), classes.data()]);
        return { batch, boxEncodings: asFloat32(boxData), classLogits: asFloat32(classData) };
      } finally {
        boxes.dispose();
        classes.dispose();
      }
    } catch (cause) {
      throw new EngineError(`tfjs (${this.backend}): inference on a batch of ${batch} failed: ${(cause as Error).message}`, {
        cause,
        hint: 'try a smaller batch size or another backend (--backend wasm | cpu)',
      });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.layers) {
      l.filter?.dispose();
      l.bias?.dispose();
    }
  }

  /** The graph on [N, H, W, 3]; runs inside tf.tidy, frees feature maps as soon as unused. */
  private forward(x: Tensor4D, n: number): [Tensor3D, Tensor3D] {
    const { tf, graph } = this;
    const maps = new Map<string, Tensor4D>([['input', x]]);
    for (const loaded of this.layers) {
      const { layer, release } = loaded;
      const src = maps.get(layer.input)!;
      // [N, outH, outW, out]
      const out = this.layerOutput(loaded, src);
      // A clip is narrower than the activation (a quantized model's output range).
      const y = layer.clip ? tf.clipByValue(out, layer.clip[0], layer.clip[1]) : out;
      if (y !== out) out.dispose();
      maps.set(layer.name, y);
      for (const name of release) {
        if (name === 'input') continue; // owned by run()
        maps.get(name)!.dispose();
        maps.delete(name);
      }
    }
    // Each NHWC head output [N, h, w, k*d] is [N, h*w*k, d] in memory: row, column, anchor order.
    const flat = (name: string, k: number, d: number, h: number, w: number): Tensor3D => tf.reshape(maps.get(name)!, [n, h * w * k, d]);
    const C = graph.numClasses;
    const boxes = graph.heads.map((hd) => flat(hd.boxLayer, hd.anchorsPerCell, 4, hd.height, hd.width));
    const classes = graph.heads.map((hd) => flat(hd.classLayer, hd.anchorsPerCell, C, hd.height, hd.width));
    // [N, A, 4], [N, A, C]
    return [tf.concat(boxes, 1), tf.concat(classes, 1)];
  }

  /** One layer on its input map [N, h, w, in]: [N, outH, outW, out]. */
  private layerOutput({ layer, filter, bias, pad }: LoadedLayer, x: Tensor4D): Tensor4D {
    const { tf } = this;
    const activation = layer.activation;
    switch (layer.kind) {
      case 'conv':
        return tf.fused.conv2d({ x, filter: filter!, strides: layer.stride, pad, dilations: layer.dilation ?? 1, bias, activation });
      case 'depthwise':
        return tf.fused.depthwiseConv2d({
          x,
          filter: filter!,
          strides: layer.stride,
          // The fused depthwise op's typings omit explicit padding, but it passes pads to
          // the same computeConv2DInfo as conv2d and the wasm/cpu kernels honour them
          // (test/engines/tfjs.test.ts checks asymmetric and non-SAME pads on both).
          pad: pad as unknown as 'valid',
          dilations: layer.dilation ?? 1,
          bias,
          activation,
        });
      case 'maxpool':
        // Explicit pads are skipped by the max (never win), as in ONNX MaxPool and Caffe.
        return tf.maxPool(x, layer.kernel, layer.stride, pad);
      case 'l2norm':
        // x / sqrt(sum_c x^2 + eps) * scale: [N, h, w, C] with scale [C] broadcast.
        return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 3, true), L2NORM_EPSILON))), bias!));
      default:
        throw new EngineError(`tfjs: layer ${(layer as ConvLayer).name} has kind ${JSON.stringify((layer as ConvLayer).kind)}, which this engine cannot run`, {
          hint: 'use the onnx engine (--engine onnx), or upgrade ssdpipe',
        });
    }
  }
}

/** Uploads weights as tensors (kept until dispose) and plans when each feature map can go. */
function uploadLayers(tf: Tfjs, graph: SsdGraph): LoadedLayer[] {
  const headOutputs = new Set(graph.heads.flatMap((h) => [h.boxLayer, h.classLayer]));
  const lastRead = new Map<string, number>();
  graph.layers.forEach((l, i) => lastRead.set(l.input, i));
  const releaseAt = new Map<number, string[]>();
  for (const [name, i] of lastRead) {
    if (headOutputs.has(name)) continue; // read again by the heads' reshape
    releaseAt.set(i, [...(releaseAt.get(i) ?? []), name]);
  }
  const loaded: LoadedLayer[] = [];
  try {
    for (const [i, layer] of graph.layers.entries()) {
      const k = layer.kernel;
      const [top, left, bottom, right] = layer.pads;
      const pad: LoadedLayer['pad'] = [[0, 0], [top, bottom], [left, right], [0, 0]];
      const release = releaseAt.get(i) ?? [];
      if (layer.kind === 'maxpool') {
        loaded.push({ layer, pad, release });
      } else if (layer.kind === 'l2norm') {
        loaded.push({ layer, bias: tf.tensor1d(layer.weights, 'float32'), pad, release });
      } else {
        const filterShape: [number, number, number, number] =
          layer.kind === 'conv' ? [k, k, layer.inChannels, layer.outChannels] : [k, k, layer.inChannels, layer.outChannels / layer.inChannels];
        const filter = tf.tensor4d(layer.weights, filterShape, 'float32');
        const bias = tf.tensor1d(layer.bias, 'float32');
        loaded.push({ layer, filter, bias, pad, release });
      }
    }
  } catch (cause) {
    for (const l of loaded) tf.dispose([l.filter, l.bias].filter((t) => t !== undefined));
    throw new EngineError(`tfjs: cannot upload the weights of layer ${graph.layers[loaded.length]?.name}: ${(cause as Error).message}`, {
      cause,
      hint: 'the model graph is inconsistent; check the model descriptor and weights',
    });
  }
  return loaded;
}

/** Checks the graph's own consistency once, so runs cannot fail on shapes. */
function checkGraph(graph: SsdGraph): void {
  const channels = new Map<string, number>([['input', 3]]);
  for (const l of graph.layers) {
    const cin = channels.get(l.input);
    const k = l.kernel;
    const known = l.kind === 'conv' || l.kind === 'depthwise' || l.kind === 'maxpool' || l.kind === 'l2norm';
    const [expectW, expectB] =
      l.kind === 'conv' ? [k * k * l.inChannels * l.outChannels, l.outChannels]
      : l.kind === 'depthwise' ? [k * k * l.outChannels, l.outChannels]
      : l.kind === 'l2norm' ? [l.outChannels, 0]
      : [0, 0];
    const problem =
      !known ? `has kind ${JSON.stringify(l.kind)}, which the tfjs engine cannot run`
      : cin === undefined ? `reads ${l.input}, which is not defined before it`
      : cin !== l.inChannels ? `expects ${l.inChannels} input channels, ${l.input} has ${cin}`
      : l.weights.length !== expectW ? `has ${l.weights.length} weights, expected ${expectW}`
      : l.bias.length !== expectB ? `has ${l.bias.length} biases, expected ${expectB}`
      : l.kind === 'depthwise' && l.outChannels % l.inChannels !== 0 ? 'is depthwise with outChannels not a multiple of inChannels'
      : (l.kind === 'maxpool' || l.kind === 'l2norm') && l.outChannels !== l.inChannels ? `is ${l.kind} with ${l.outChannels} outputs from ${l.inChannels} inputs`
      : (l.dilation ?? 1) > 1 && l.stride > 1 ? `has stride ${l.stride} and dilation ${l.dilation}; TF.js convolutions take one or the other`
      : undefined;
    if (problem) throw new EngineError(`tfjs: graph layer ${l.name} ${problem}`, { hint: 'the model graph is inconsistent; check the model descriptor' });
    channels.set(l.name, l.outChannels);
  }
  let anchors = 0;
  for (const h of graph.heads) {
    const box = graph.layers.find((l) => l.name === h.boxLayer);
    const cls = graph.layers.find((l) => l.name === h.classLayer);
    if (!box || !cls || box.outChannels !== h.anchorsPerCell * 4 || cls.outChannels !== h.anchorsPerCell * graph.numClasses) {
      throw new EngineError(`tfjs: head ${h.boxLayer} / ${h.classLayer} does not match its layers`, { hint: 'the model graph is inconsistent' });
    }
    anchors += h.height * h.width * h.anchorsPerCell;
  }
  if (anchors !== graph.numAnchors) {
    throw new EngineError(`tfjs: heads produce ${anchors} anchors, graph says ${graph.numAnchors}`, { hint: 'the model graph is inconsistent' });
  }
}

function asFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
