import { createRequire } from 'node:module';
import type { io, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { EngineError, ModelError, OptionError, SsdpipeError } from '../errors.js';
import { checkOption } from '../config/validate.js';
import { cocoSsdLayoutProblem, COCO_SSD_GRAPH_LAYOUT, type TfjsGraphModel } from '../model/tfjs-graph-model.js';
import { isHttpUrl } from '../model-io/load-tfjs-graph.js';
import { fileModelHandler } from '../model-io/tfjs-file-handler.js';
import type { Engine, EngineOptions, RawOutputs } from './engine.js';
import { selectTfjsBackend, type Tfjs, type TfjsBackendRequest } from './tfjs-backend.js';

/** Default batch size of the warm-up run at load. */
export const DEFAULT_TFJS_GRAPH_WARMUP_BATCH = 1;

const LAYOUT_HINT =
  `ssdpipe runs TF.js graph models in @tensorflow-models/coco-ssd's layout: input ${COCO_SSD_GRAPH_LAYOUT.inputName} (int32 [N, H, W, 3]); ` +
  `outputs ${COCO_SSD_GRAPH_LAYOUT.outputNames.scores} (scores [N, ${COCO_SSD_GRAPH_LAYOUT.numAnchors}, ${COCO_SSD_GRAPH_LAYOUT.numClasses}]) and ` +
  `${COCO_SSD_GRAPH_LAYOUT.outputNames.boxes} (boxes [N, ${COCO_SSD_GRAPH_LAYOUT.numAnchors}, 1, 4])`;

/**
 * Loads a TF.js graph model in coco-ssd's layout (model/tfjs-graph-model.ts) with tfjs-converter
 * and warms it up: model.json and its shards from disk (fileModelHandler) or over http(s)
 * (tfjs's own http handler, on Node's fetch). A batch of N frames runs as one int32
 * [N, H, W, 3] tensor; the scores and decoded boxes are read back to Float32Arrays and every
 * tensor of the run is disposed.
 */
export async function createTfjsGraphEngine(model: TfjsGraphModel, options: EngineOptions = {}): Promise<Engine> {
  const requested = (options.backend ?? 'auto') as TfjsBackendRequest;
  checkOption('backend', requested);
  const warmupBatch = options.warmupBatch ?? DEFAULT_TFJS_GRAPH_WARMUP_BATCH;
  if (!Number.isInteger(warmupBatch) || warmupBatch < 1) throw new OptionError('warmupBatch', 'an integer >= 1', options.warmupBatch);

  const { tf, backend, reason } = await selectTfjsBackend(requested, { threads: options.threads });
  const graph = await loadGraph(tf, model);
  const engine = new TfjsGraphEngine(tf, model, graph, backend, `${reason}; TF.js graph model ${model.source}`);
  try {
    // Warm-up: kernels initialize for these shapes, and the outputs' shapes are checked.
    await engine.run(new Float32Array(warmupBatch * model.inputHeight * model.inputWidth * 3), warmupBatch);
  } catch (cause) {
    await engine.dispose();
    if (cause instanceof ModelError) throw cause;
    throw new EngineError(`${(cause as Error).message} (warm-up run at load)`, {
      cause,
      hint: 'try another backend with --backend wasm or --backend cpu',
    });
  }
  return engine;
}

/** tfjs-converter, checked to use the very tfjs-core the backends registered into. */
async function loadConverter(): Promise<typeof import('@tensorflow/tfjs-converter')> {
  const require = createRequire(import.meta.url);
  let ours: string;
  let theirs: string;
  try {
    ours = require.resolve('@tensorflow/tfjs-core');
    theirs = createRequire(require.resolve('@tensorflow/tfjs-converter')).resolve('@tensorflow/tfjs-core');
  } catch (cause) {
    throw new EngineError(`@tensorflow/tfjs-converter cannot be found: ${(cause as Error).message}`, { cause, hint: 'it is a dependency of ssdpipe: reinstall with npm ci' });
  }
  // A second copy of tfjs-core would make tensors the backends cannot read (see tfjs-backend.ts).
  if (ours !== theirs) {
    throw new EngineError(`@tensorflow/tfjs-converter uses another copy of tfjs-core (${theirs}, not ${ours})`, {
      hint: 'install tfjs-converter and tfjs-core at the same version (npm ls @tensorflow/tfjs-core shows the copies)',
    });
  }
  return import('@tensorflow/tfjs-converter');
}

/** Loads the graph through a handler that checks coco-ssd's layout before tfjs builds the graph. */
async function loadGraph(tf: Tfjs, model: TfjsGraphModel): Promise<GraphModel> {
  const converter = await loadConverter();
  const inner: io.IOHandler = isHttpUrl(model.source) ? tf.io.http(model.source) : fileModelHandler(model.source);
  const handler: io.IOHandler = {
    load: async () => {
      let artifacts: io.ModelArtifacts;
      try {
        artifacts = await inner.load!();
      } catch (cause) {
        if (cause instanceof SsdpipeError) throw cause;
        throw new ModelError('E_MODEL', `cannot load TF.js graph model ${model.source}: ${(cause as Error).message}`, {
          cause,
          hint: 'check the URL: model.json and the weight shards it lists are fetched from there',
        });
      }
      const problem = cocoSsdLayoutProblem(artifacts.modelTopology, model);
      if (problem) throw new ModelError('E_MODEL', `TF.js model ${model.source} is not in coco-ssd's layout: ${problem}`, { hint: LAYOUT_HINT });
      return artifacts;
    },
  };
  try {
    return await converter.loadGraphModel(handler);
  } catch (cause) {
    if (cause instanceof SsdpipeError) throw cause;
    throw new ModelError('E_MODEL', `cannot load TF.js graph model ${model.source}: ${(cause as Error).message}`, {
      cause,
      hint: 'the graph uses an op tfjs-converter 4.22 does not know, or its weights do not match model.json; convert it again with tensorflowjs_converter',
    });
  }
}

class TfjsGraphEngine implements Engine {
  readonly kind = 'tfjs' as const;
  private disposed = false;
  /**
   * How the graph runs, found at the first run: 'sync' (execute) for a graph without control flow
   * or dynamic shapes, 'async' (executeAsync, as coco-ssd runs its graphs) otherwise. executeAsync
   * prints a console warning for a graph that did not need it, and library code must not print.
   */
  private mode: 'sync' | 'async' | undefined;

  constructor(
    private readonly tf: Tfjs,
    private readonly model: TfjsGraphModel,
    private readonly graph: GraphModel,
    readonly backend: string,
    readonly reason: string,
  ) {}

  async run(input: Float32Array, batch: number): Promise<RawOutputs> {
    const { tf, model } = this;
    if (this.disposed) throw new EngineError('tfjs engine used after dispose()', { hint: 'create a new engine' });
    const H = model.inputHeight;
    const W = model.inputWidth;
    if (!Number.isInteger(batch) || batch < 1) throw new EngineError(`tfjs run: batch must be an integer >= 1, received ${batch}`);
    if (input.length !== batch * H * W * 3) {
      throw new EngineError(`tfjs run: input has ${input.length} floats, expected ${batch * H * W * 3} ([${batch}, ${H}, ${W}, 3])`, {
        hint: 'frames must be resized to the model input before inference',
      });
    }
    // tfjs has one active backend per process; another engine may have switched it.
    if (tf.getBackend() !== this.backend) await tf.setBackend(this.backend);
    try {
      // [batch, H, W, 3] int32 pixels 0..255, as coco-ssd feeds tf.browser.fromPixels.
      const x = tf.tidy(() => tf.cast(tf.round(tf.clipByValue(tf.tensor4d(input, [batch, H, W, 3], 'float32'), 0, 255)), 'int32')) as Tensor4D;
      let outputs: Tensor[];
      try {
        outputs = await this.execute(x);
      } finally {
        x.dispose();
      }
      try {
        const [scores, boxes] = outputs;
        checkShape(model, scores, [batch, model.numAnchors, model.numClasses], 'scores');
        checkShape(model, boxes, [batch, model.numAnchors, 1, 4], 'boxes');
        // scores [batch, A, C]; boxes [batch, A, 1, 4], the same memory as [batch, A, 4]
        const [scoreData, boxData] = await Promise.all([scores.data(), boxes.data()]);
        return { batch, boxEncodings: asFloat32(boxData), classLogits: asFloat32(scoreData) };
      } finally {
        tf.dispose(outputs);
      }
    } catch (cause) {
      if (cause instanceof ModelError) throw cause;
      throw new EngineError(`tfjs (${this.backend}): TF.js graph model ${model.source} failed on a batch of ${batch}: ${(cause as Error).message}`, {
        cause,
        hint: 'try a smaller batch size or another backend (--backend wasm | cpu)',
      });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.graph.dispose();
  }

  /** The two outputs [scores, boxes] of one run; see `mode`. */
  private async execute(x: Tensor4D): Promise<Tensor[]> {
    const { tf, graph, model } = this;
    const feeds = { [model.inputName]: x };
    const names = [model.outputNames.scores, model.outputNames.boxes];
    if (this.mode !== 'async') {
      try {
        // tidy: a graph refused for sync execution leaves nothing behind.
        const out = tf.tidy(() => graph.execute(feeds, names) as Tensor[]);
        this.mode = 'sync';
        return out;
      } catch (err) {
        // The converter refuses control flow and dynamic shapes in execute(), naming executeAsync.
        if (this.mode === 'sync' || !/executeAsync/.test((err as Error).message)) throw err;
        this.mode = 'async';
      }
    }
    return (await graph.executeAsync(feeds, names)) as Tensor[];
  }
}

function checkShape(model: TfjsGraphModel, t: Tensor, want: readonly number[], what: string): void {
  if (t.shape.length === want.length && t.shape.every((d, i) => d === want[i])) return;
  const name = what === 'scores' ? model.outputNames.scores : model.outputNames.boxes;
  throw new ModelError('E_MODEL', `TF.js model ${model.source}: output ${name} (${what}) has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`, {
    hint: LAYOUT_HINT,
  });
}

function asFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
