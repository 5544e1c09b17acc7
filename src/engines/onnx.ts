import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { EngineError, OptionError } from '../errors.js';
import { checkOption } from '../config/validate.js';
import type { SsdGraph } from '../model/ssd-graph.js';
import type { Engine, EngineOptions, RawOutputs } from './engine.js';
import { loadOrBuildOnnxModel, type CachedOnnxModel } from './onnx-cache.js';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAMES, type OnnxInputLayout } from '../onnx/onnx-graph.js';
import { isOnnxModelFile, type OnnxModelFile } from '../onnx/onnx-model-file.js';

/** Devices the ONNX engine can run on. */
export type OnnxDevice = 'cpu' | 'cuda';

/** Options of the ONNX Runtime engine. */
export interface OnnxEngineOptions extends EngineOptions {
  /** 'auto' (default: cuda when its provider is installed, else cpu), 'cpu', or 'cuda' (tried
   *  first, falls back to cpu with the reason saying why). */
  device?: OnnxDevice | 'auto';
  /** Where generated models are cached; default onnxCacheDir(); null: no cache. */
  cacheDir?: string | null;
}

/** The ONNX engine, plus where its model came from. */
export interface OnnxEngine extends Engine {
  readonly kind: 'onnx';
  /** The cached .onnx file the session was built from; undefined when not cached. */
  readonly modelPath: string | undefined;
  /** True when the model came from the cache instead of being generated. */
  readonly cacheHit: boolean;
}

/** Batch size of the warm-up run at load unless options.warmupBatch says otherwise. */
export const DEFAULT_ONNX_WARMUP_BATCH = 1;

const LOAD_HINT =
  'onnxruntime-node ships prebuilt binaries for linux x64/arm64, macOS arm64 and windows x64; ' +
  'reinstall it (npm rebuild onnxruntime-node) or use --engine tfjs';

let ortPromise: Promise<typeof Ort> | undefined;

/** Imports onnxruntime-node once; a missing or broken native binding becomes an EngineError. */
async function loadOrt(): Promise<typeof Ort> {
  ortPromise ??= import('onnxruntime-node').then((ort) => {
    // ORT's process-wide logger (read once, at the first session) prints to stderr, e.g. when the
    // CUDA provider is missing; library code must not print, and failures reach us as exceptions.
    // Only the default is changed: a level the embedding application chose is kept.
    if (ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
    return ort;
  }, (cause: unknown) => {
    ortPromise = undefined;
    throw new EngineError(`onnxruntime-node cannot be loaded: ${(cause as Error)?.message ?? String(cause)}`, { cause, hint: LOAD_HINT });
  });
  return ortPromise;
}

/**
 * Whether onnxruntime-node's CUDA execution provider is installed: its install script adds
 * libonnxruntime_providers_cuda next to the binding when CUDA was not skipped (see .npmrc).
 */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const dir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    return ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].some((f) => existsSync(path.join(dir, f)));
  } catch {
    return false;
  }
}

let availability: Promise<{ ok: boolean; reason: string }> | undefined;

/**
 * Whether onnxruntime-node loads and runs here (for `ssdpipe doctor` and engine auto-selection):
 * imports it and runs a one-node model. Never throws; the answer is computed once per process.
 */
export function onnxRuntimeAvailable(): Promise<{ ok: boolean; reason: string }> {
  availability ??= (async () => {
    try {
      const ort = await loadOrt();
      const session = await ort.InferenceSession.create(identityModel(), { logSeverityLevel: 3, intraOpNumThreads: 1 });
      try {
        const x = new ort.Tensor('float32', new Float32Array([1.5]), [1]);
        const out = await session.run({ x });
        if ((out.y.data as Float32Array)[0] !== 1.5) return { ok: false, reason: 'onnxruntime-node loaded but returned a wrong result' };
      } finally {
        await session.release();
      }
      const backends = ort.listSupportedBackends();
      const bundled = backends.filter((b) => b.bundled).map((b) => b.name).join(', ');
      const extra = backends.filter((b) => !b.bundled).map((b) => b.name).join(', ');
      const eps = extra ? `${bundled}; not bundled: ${extra}` : bundled;
      return { ok: true, reason: `onnxruntime-node ${ort.env.versions.node ?? '?'} (execution providers: ${eps})` };
    } catch (err) {
      return { ok: false, reason: (err as Error)?.message ?? String(err) };
    }
  })();
  return availability;
}

/**
 * Lowers the graph to ONNX (or reads it from the cache), or reads an .onnx SSD file as given,
 * opens an ONNX Runtime session on it and warms it up. Input [batch, H, W, 3] float32 NHWC; a
 * generated model transposes to NCHW itself, an nchw file's input is transposed here.
 */
export async function createOnnxEngine(model: SsdGraph | OnnxModelFile, options: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  const settings = resolveSettings(options);
  const ort = await loadOrt();
  const opened = isOnnxModelFile(model) ? await openFileSession(ort, model, settings) : await openSession(ort, model, settings, options.cacheDir);
  const io: SessionIo = isOnnxModelFile(model)
    ? {
      ...model, boxName: model.outputNames.boxEncodings, className: model.outputNames.classLogits,
      mismatchHint: `the sidecar of ${model.path} does not match the model: check its anchors, labels and output names`,
    }
    : {
      ...model, inputName: ONNX_INPUT_NAME, layout: 'nhwc', boxName: ONNX_OUTPUT_NAMES.boxEncodings, className: ONNX_OUTPUT_NAMES.classLogits,
      mismatchHint: 'this looks like a bug in ssdpipe\'s ONNX lowering; please report it',
    };
  const runner = sessionRunner(ort, opened.session, io);
  if (settings.warmupBatch > 0) {
    const frameSize = io.inputHeight * io.inputWidth * 3;
    await runner.run(new Float32Array(settings.warmupBatch * frameSize), settings.warmupBatch).catch(async (err: unknown) => {
      await runner.dispose();
      throw err;
    });
  }
  const { threads } = settings;
  return {
    kind: 'onnx',
    backend: opened.backend,
    reason: `onnxruntime-node ${ort.env.versions.node ?? ''} on ${opened.backend}, ${threads} thread${threads === 1 ? '' : 's'}, ${describeModelSource(opened.model)}${opened.note}`,
    modelPath: opened.model.path,
    cacheHit: opened.model.hit,
    run: runner.run,
    dispose: runner.dispose,
  };
}

interface OnnxSettings {
  threads: number;
  device: OnnxDevice;
  warmupBatch: number;
}

/** Checks the options once and fills in the defaults (device auto: cuda when its provider is installed). */
function resolveSettings(options: OnnxEngineOptions): OnnxSettings {
  const threads = checkOption('threads', options.threads ?? os.availableParallelism());
  const requested = options.device ?? 'auto';
  if (requested !== 'auto' && requested !== 'cpu' && requested !== 'cuda') throw new OptionError('device', '"auto", "cpu" or "cuda"', options.device);
  const warmupBatch = options.warmupBatch ?? DEFAULT_ONNX_WARMUP_BATCH;
  if (!Number.isInteger(warmupBatch) || warmupBatch < 0) throw new OptionError('warmupBatch', 'a non-negative integer', options.warmupBatch);
  return { threads, device: requested === 'auto' ? (cudaProviderInstalled() ? 'cuda' : 'cpu') : requested, warmupBatch };
}

/** ONNX Runtime session settings for the pipeline's use of it. */
function sessionOptions(threads: number): Ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // ORT logs warnings to stderr; library code must not print.
    logSeverityLevel: 3,
    // ORT's pool threads spin while waiting for work by default. Here the decoder, preprocessing
    // and the encoder share the cores with inference; without spinning the naive per-frame loop
    // went from 25 to 30 fps and the pipeline was unchanged (npm run bench, 2 cores).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * Opens a session on the cached or generated model: on CUDA when asked (falling back to the CPU,
 * with the reason in `note`), and regenerating a cached file once if it verifies but fails to load.
 */
async function openSession(
  ort: typeof Ort,
  graph: SsdGraph,
  settings: OnnxSettings,
  cacheDir: string | null | undefined,
): Promise<{ session: Ort.InferenceSession; backend: OnnxDevice; model: CachedOnnxModel; note: string }> {
  let model = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir });
  const open = async (bytes: Uint8Array, ep: OnnxDevice): Promise<Ort.InferenceSession> =>
    ort.InferenceSession.create(bytes, { ...sessionOptions(settings.threads), executionProviders: [ep] });
  let note = '';
  if (settings.device === 'cuda') {
    try {
      return { session: await open(model.bytes, 'cuda'), backend: 'cuda', model, note };
    } catch (err) {
      note = `; cuda unavailable (${firstLine(err)}), using cpu`;
    }
  }
  try {
    const session = await open(model.bytes, 'cpu').catch(async (err: unknown) => {
      if (!model.hit) throw err;
      // A cached file that verifies but does not load (e.g. left by an older ssdpipe): regenerate once.
      model = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir, rebuild: true });
      return open(model.bytes, 'cpu');
    });
    return { session, backend: 'cpu', model, note };
  } catch (cause) {
    throw new EngineError(`ONNX Runtime could not open the generated SSD model: ${firstLine(cause)}`, {
      cause,
      hint: model.path ? `delete the cached model ${model.path} and retry; if it persists, use --engine tfjs` : 'use --engine tfjs',
    });
  }
}

/**
 * Opens a session on an .onnx SSD file, its bytes as given (CUDA as for a generated model), and
 * checks that it has the input and outputs its sidecar names.
 */
async function openFileSession(
  ort: typeof Ort,
  file: OnnxModelFile,
  settings: OnnxSettings,
): Promise<{ session: Ort.InferenceSession; backend: OnnxDevice; model: CachedOnnxModel; note: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file.path);
  } catch (cause) {
    throw new EngineError(`cannot read the ONNX model ${file.path}: ${firstLine(cause)}`, { cause, hint: 'check the path given to --model' });
  }
  const model: CachedOnnxModel = { bytes, path: file.path, hit: true, note: 'file' };
  const open = async (ep: OnnxDevice): Promise<Ort.InferenceSession> => ort.InferenceSession.create(bytes, { ...sessionOptions(settings.threads), executionProviders: [ep] });
  let session: Ort.InferenceSession | undefined;
  let backend: OnnxDevice = 'cpu';
  let note = '';
  if (settings.device === 'cuda') {
    try {
      session = await open('cuda');
      backend = 'cuda';
    } catch (err) {
      note = `; cuda unavailable (${firstLine(err)}), using cpu`;
    }
  }
  try {
    session ??= await open('cpu');
  } catch (cause) {
    throw new EngineError(`ONNX Runtime could not open ${file.path}: ${firstLine(cause)}`, { cause, hint: 'check that the file is a valid ONNX model (ssdpipe models export writes one)' });
  }
  const missing = [file.inputName].filter((n) => !session.inputNames.includes(n)).map((n) => `input ${n}`)
    .concat([file.outputNames.boxEncodings, file.outputNames.classLogits].filter((n) => !session.outputNames.includes(n)).map((n) => `output ${n}`));
  if (missing.length) {
    await session.release();
    throw new EngineError(`ONNX model ${file.path} has no ${missing.join(', ')} (its inputs: ${session.inputNames.join(', ')}; outputs: ${session.outputNames.join(', ')})`, {
      hint: 'fix input.name and outputs.<key>.name in its sidecar .json',
    });
  }
  return { session, backend, model, note };
}

/** The names and sizes a session runner needs (from an SsdGraph or an .onnx file's sidecar). */
interface SessionIo {
  inputName: string;
  layout: OnnxInputLayout;
  inputHeight: number;
  inputWidth: number;
  numAnchors: number;
  numClasses: number;
  boxName: string;
  className: string;
  /** What to do when the outputs do not have the expected size. */
  mismatchHint: string;
}

/** run() and dispose() over an open session: input checks, output shape checks, safe release. */
function sessionRunner(ort: typeof Ort, session: Ort.InferenceSession, io: SessionIo): Pick<Engine, 'run' | 'dispose'> {
  const H = io.inputHeight;
  const W = io.inputWidth;
  const A = io.numAnchors;
  const C = io.numClasses;
  const frameSize = H * W * 3;
  let disposed = false;
  // Runs not finished yet: onnxruntime-node starts a run on a later turn of the event loop, and
  // releasing the session before that crashes the process (a native abort), so dispose waits.
  const running = new Set<Promise<unknown>>();

  const run = async (input: Float32Array, batch: number): Promise<RawOutputs> => {
    if (disposed) throw new EngineError('the onnx engine was disposed', { hint: 'create a new engine' });
    if (!Number.isInteger(batch) || batch < 1 || input.length !== batch * frameSize) {
      throw new EngineError(`onnx engine: input has ${input.length} floats, expected batch (${batch}) x ${H} x ${W} x 3 = ${batch * frameSize}`, {
        hint: 'pass one preprocessed [batch, H, W, 3] NHWC float32 array per run',
      });
    }
    // [batch, H, W, 3] -> [batch, A, 4] and [batch, A, C]
    let out: Ort.InferenceSession.OnnxValueMapType;
    const tensor = io.layout === 'nhwc' ? new ort.Tensor('float32', input, [batch, H, W, 3]) : new ort.Tensor('float32', toNchw(input, batch, H, W), [batch, 3, H, W]);
    const pending = session.run({ [io.inputName]: tensor });
    running.add(pending);
    try {
      out = await pending;
    } catch (cause) {
      throw new EngineError(`ONNX Runtime failed to run a batch of ${batch}: ${firstLine(cause)}`, { cause, hint: 'try a smaller --batch or --engine tfjs' });
    } finally {
      running.delete(pending);
    }
    const box = out[io.boxName].data as Float32Array; // [batch, A, 4]
    const cls = out[io.className].data as Float32Array; // [batch, A, C]
    if (box.length !== batch * A * 4 || cls.length !== batch * A * C) {
      throw new EngineError(`ONNX Runtime returned ${box.length} box and ${cls.length} class values, expected ${batch * A * 4} and ${batch * A * C}`, {
        hint: io.mismatchHint,
      });
    }
    return { batch, boxEncodings: box, classLogits: cls };
  };
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    await Promise.allSettled([...running]);
    await session.release();
  };
  return { run, dispose };
}

/** [n, H, W, 3] -> [n, 3, H, W], for a model file whose input is NCHW (about 1 ms per 300x300 frame). */
function toNchw(x: Float32Array, n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const src = b * plane * 3;
    const dst = b * plane * 3;
    for (let p = 0; p < plane; p++) {
      out[dst + p] = x[src + p * 3];
      out[dst + plane + p] = x[src + p * 3 + 1];
      out[dst + 2 * plane + p] = x[src + p * 3 + 2];
    }
  }
  return out;
}

/** Where the model came from, for the engine's reason line. */
function describeModelSource(model: CachedOnnxModel): string {
  if (model.note === 'file') return `model file ${model.path}`;
  if (model.hit) return `cached model ${model.path}`;
  if (model.path) return `generated model, cached at ${model.path}`;
  return `generated model, ${model.note === 'disabled' ? 'cache off' : model.note}`;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

/** A one-node Identity model (x -> y, float32 [1]) used to prove the runtime works. */
function identityModel(): Uint8Array {
  const onnx = onnxProto.onnx;
  const info = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'probe', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [info('x')], output: [info('y')] },
  })).finish();
}
