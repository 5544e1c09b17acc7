import os from 'node:os';
import type { EngineChoice } from '../config/schema.js';
import { checkOption } from '../config/validate.js';
import { EngineError } from '../errors.js';
import type { SsdGraph } from '../model/ssd-graph.js';
import { isTfjsGraphModel, type TfjsGraphModel } from '../model/tfjs-graph-model.js';
import { isOnnxModelFile, type OnnxModelFile } from '../onnx/onnx-model-file.js';
import type { Engine, EngineKind } from './engine.js';


/** Engine selection options (the CLI's --engine, --backend, --threads). */
export interface SelectEngineOptions {
  engine?: EngineChoice;
  /** tfjs backend: auto | tensorflow | wasm | cpu. */
  backend?: string;
  threads?: number;
  warmupBatch?: number;
}

/** Default intra-op threads: every core. */
export function defaultThreads(): number {
  return os.availableParallelism();
}

/**
 * Loads the engine the options ask for. auto: TF.js when tfjs-node-gpu has a usable GPU
 * (GPU users keep TF.js), else ONNX Runtime on the CPU (about 10x faster than TF.js's wasm
 * backend here), else TF.js on the best backend it finds. The returned engine's `reason` says
 * why, including what was skipped.
 */
export async function createEngine(graph: SsdGraph | OnnxModelFile | TfjsGraphModel, options: SelectEngineOptions = {}, decided?: EnginePick): Promise<Engine> {
  const choice = options.engine ?? 'auto';
  checkOption('engine', choice);
  const threads = checkOption('threads', options.threads ?? defaultThreads());
  const backend = options.backend ?? 'auto';
  const warmupBatch = options.warmupBatch ?? 1;

  const tfjs = async (why: string): Promise<Engine> => {
    if (isOnnxModelFile(graph)) {
      throw new EngineError(`the tfjs engine cannot run ${graph.path}: an .onnx SSD runs as given on the onnx engine (${why})`, {
        hint: 'use --engine onnx (or auto), or a model TF.js can build: a bundled name, a descriptor .json or a .tflite SSD',
      });
    }
    if (isTfjsGraphModel(graph)) {
      const { createTfjsGraphEngine } = await import('./tfjs-graph.js');
      const e = await createTfjsGraphEngine(graph, { backend, warmupBatch, threads });
      return withReason(e, `${why}; ${e.reason}`);
    }
    const { createTfjsEngine } = await import('./tfjs.js');
    const e = await createTfjsEngine(graph, { backend, warmupBatch, threads });
    return withReason(e, `${why}; ${e.reason}`);
  };
  const onnx = async (why: string): Promise<Engine> => {
    if (isTfjsGraphModel(graph)) {
      throw new EngineError(`the onnx engine cannot run ${graph.source}: a TF.js graph model is TF ops run as given by tfjs-converter, not an SSD ssdpipe can lower to ONNX (${why})`, {
        hint: 'use --engine tfjs (or auto, which picks it for a TF.js graph model)',
      });
    }
    const { createOnnxEngine } = await import('./onnx.js');
    const e = await createOnnxEngine(graph, { threads, warmupBatch });
    return withReason(e, `${why}; ${e.reason}`);
  };

  const pick = decided ?? (await resolveEngineKind({ engine: choice, backend, onnxFile: isOnnxModelFile(graph), tfjsGraph: isTfjsGraphModel(graph) }));
  try {
    return pick.kind === 'onnx' ? await onnx(pick.why) : await tfjs(pick.why);
  } catch (cause) {
    // A TF.js graph model has one engine whatever the choice: its failure is not a missing engine.
    if (choice !== 'auto' || isTfjsGraphModel(graph)) throw cause;
    throw new EngineError('no inference engine could be loaded', {
      cause,
      hint: 'run npm ci; ssdpipe doctor says what each engine needs',
    });
  }
}

/** Which engine to load, why, and whether it will run on a GPU. */
export interface EnginePick {
  kind: EngineKind;
  why: string;
  gpu: boolean;
}

/**
 * Decides which engine the options mean, without loading a model: explicit choices win;
 * auto prefers TF.js only with a usable GPU, then ONNX Runtime, then TF.js on the CPU.
 * tfjs-node-gpu is only probed when the answer depends on it (never for --engine onnx, so an
 * ONNX engine worker thread never loads the native TF.js addon).
 */
export async function resolveEngineKind(options: { engine?: EngineChoice; backend?: string; onnxFile?: boolean; tfjsGraph?: boolean }): Promise<EnginePick> {
  const choice = options.engine ?? 'auto';
  const backend = options.backend ?? 'auto';
  if (choice === 'onnx') return { kind: 'onnx', why: '--engine onnx', gpu: false };
  // A TF.js graph model runs only on TF.js (an explicit onnx choice is refused when loading).
  if (options.tfjsGraph && choice === 'auto') {
    const { gpuTfjsAvailable } = await import('./tfjs-backend.js');
    const gpu = backend === 'auto' || backend === 'tensorflow' ? await gpuTfjsAvailable() : { ok: false };
    return { kind: 'tfjs', why: 'auto: a TF.js graph model runs on the tfjs engine', gpu: gpu.ok };
  }
  // An .onnx SSD runs only on ONNX Runtime: auto means that (an explicit tfjs choice is refused when loading).
  if (options.onnxFile && choice === 'auto' && backend === 'auto') return { kind: 'onnx', why: 'auto: an .onnx model runs on onnxruntime-node', gpu: false };
  const mayUseGpu = backend === 'auto' || backend === 'tensorflow';
  const { gpuTfjsAvailable } = await import('./tfjs-backend.js');
  const gpu = mayUseGpu ? await gpuTfjsAvailable() : { ok: false, reason: `--backend ${backend}` };
  if (choice === 'tfjs') return { kind: 'tfjs', why: '--engine tfjs', gpu: gpu.ok };
  if (backend !== 'auto') return { kind: 'tfjs', why: `--backend ${backend} implies the tfjs engine`, gpu: gpu.ok };
  if (gpu.ok) return { kind: 'tfjs', why: `auto: tfjs-node-gpu has a usable GPU (${gpu.reason})`, gpu: true };
  const { onnxRuntimeAvailable } = await import('./onnx.js');
  const ort = await onnxRuntimeAvailable();
  if (ort.ok) return { kind: 'onnx', why: `auto: no usable GPU for tfjs (${gpu.reason}); onnxruntime-node is the fastest CPU engine`, gpu: false };
  return { kind: 'tfjs', why: `auto: no GPU (${gpu.reason}) and onnxruntime-node unavailable (${ort.reason})`, gpu: false };
}

/** The same engine with another `reason` line. */
function withReason(engine: Engine, reason: string): Engine {
  return {
    kind: engine.kind,
    backend: engine.backend,
    reason,
    run: (input, batch) => engine.run(input, batch),
    dispose: () => engine.dispose(),
  };
}
