import { OptionError } from '../errors.js';
import type { EngineChoice } from '../engines/select-engine.js';
import type { ModelDescriptor } from '../model/descriptor.js';

/** Defaults shared by the CLI and the programmatic API (defined once). */
export const DEFAULTS = {
  model: 'face',
  engine: 'auto' as EngineChoice,
  backend: 'auto',
  /** 'auto': 1 on CPU engines (batching gave no throughput there and adds latency: ssdpipe bench),
   *  8 on a GPU. */
  batch: 'auto' as const,
  /** Batch size 'auto' picks on a GPU. */
  gpuBatch: 8,
  maxWaitMs: 50,
  /** Frames allowed in flight between the decoder and the sinks before ffmpeg is paused... */
  maxInFlight: 16,
  /** ...and at most this many bytes of decoded frames (a 4K frame is 25 MB). */
  maxInFlightBytes: 256 * 2 ** 20,
} as const;

/** Options of detect() and run(): model, engine and post-processing. */
export interface DetectOptions {
  /** Bundled model name, descriptor path or .tflite SSD path (default 'face'). */
  model?: string;
  /** Label map for a .tflite model (one label per line; default: the file's metadata). */
  labels?: string;
  engine?: EngineChoice;
  /** tfjs backend: auto | tensorflow | wasm | cpu. */
  backend?: string;
  /** Intra-op threads for the engine (default: all cores). */
  threads?: number;
  /** Minimum score (default: the model's, 0.5 for face). */
  score?: number;
  /** NMS IoU threshold (default: the model's). */
  iou?: number;
  /** Maximum detections per frame (default: the model's). */
  maxDetections?: number;
  /** Class-agnostic NMS across classes (default: the model's; per class for face). */
  classAgnostic?: boolean;
  /** Soft-NMS (Gaussian) instead of hard NMS. */
  softNms?: boolean;
  /** Frames per inference batch, or 'auto' (default: 1 on CPU engines, 8 on a GPU). */
  batch?: number | 'auto';
  /** Longest wait for a batch to fill, ms (default 50). */
  maxWaitMs?: number;
  /** Path to ffmpeg / ffprobe (default: resolved; see ssdpipe doctor). */
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Stops the run. */
  signal?: AbortSignal;
  /** Run the ONNX engine on the main thread instead of a worker (for measurements). */
  inProcess?: boolean;
}

/** Validated post-processing settings. */
export interface ResolvedPostprocess {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  classAgnostic: boolean;
  nms: 'hard' | 'soft-gaussian';
}

/** In-flight frame limit for flow control: up to maxInFlight frames and maxInFlightBytes, never
 *  fewer than two batches (so one batch can be in the engine while the next is prepared). */
export function inFlightLimit(width: number, height: number, batch: number): number {
  const byBytes = Math.floor(DEFAULTS.maxInFlightBytes / (width * height * 3));
  return Math.max(2 * batch, Math.min(DEFAULTS.maxInFlight, byBytes));
}

/** Checks option values once, before anything runs. */
export function validateDetectOptions(o: DetectOptions): void {
  const prob = (name: string, v: number | undefined, lo: number, hi: number, incl = true): void => {
    if (v === undefined) return;
    const ok = Number.isFinite(v) && (incl ? v >= lo && v <= hi : v > lo && v < hi);
    if (!ok) throw new OptionError(name, `a number in ${incl ? '[' : '('}${lo}, ${hi}${incl ? ']' : ')'}`, v);
  };
  prob('--score', o.score, 0, 1);
  prob('--iou', o.iou, 0, 1);
  const int = (name: string, v: number | undefined, min: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new OptionError(name, `an integer >= ${min}`, v);
  };
  int('--max-detections', o.maxDetections, 1);
  if (o.batch !== 'auto') int('--batch', o.batch, 1);
  int('--threads', o.threads, 1);
  if (o.maxWaitMs !== undefined && !(Number.isFinite(o.maxWaitMs) && o.maxWaitMs >= 0)) {
    throw new OptionError('--max-wait-ms', 'a number >= 0', o.maxWaitMs);
  }
  if (o.engine !== undefined && !['auto', 'onnx', 'tfjs'].includes(o.engine)) throw new OptionError('--engine', 'auto, onnx or tfjs', o.engine);
  if (o.backend !== undefined && !['auto', 'tensorflow', 'wasm', 'cpu'].includes(o.backend)) {
    throw new OptionError('--backend', 'auto, tensorflow, wasm or cpu', o.backend);
  }
}

/** Merges the user's thresholds over the model's defaults. */
export function resolvePostprocess(o: DetectOptions, d: ModelDescriptor): ResolvedPostprocess {
  return {
    scoreThreshold: o.score ?? d.postprocess.scoreThreshold,
    iouThreshold: o.iou ?? d.postprocess.iouThreshold,
    maxDetections: o.maxDetections ?? d.postprocess.maxDetections,
    classAgnostic: o.classAgnostic ?? d.postprocess.classAgnostic ?? false,
    nms: o.softNms ? 'soft-gaussian' : 'hard',
  };
}
