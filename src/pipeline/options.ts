import { DEFAULTS, detectOptionsSchema, runOptionsSchema, type DetectOptionsInput, type ResolvedDetectOptions, type ResolvedRunOptions, type RunOptionsInput } from '../config/schema.js';
import { parseOptions } from '../config/validate.js';
import type { ModelDescriptor } from '../model/descriptor.js';

/** Options of detect(): the schema's detect options (src/config/schema.ts) plus a stop signal. */
export type DetectOptions = DetectOptionsInput & {
  /** Stops the run. */
  signal?: AbortSignal;
};

/** Options of run(): detect()'s, the outputs, and where to draw a progress bar. */
export type RunOptions = RunOptionsInput & {
  signal?: AbortSignal;
  /** Draw a progress bar on this stream when it is a TTY (default: none). */
  progress?: NodeJS.WriteStream;
};

/** Validates detect() options once, before anything runs, and fills in the defaults. */
export function resolveDetectOptions(options: DetectOptions): ResolvedDetectOptions {
  const { signal: _signal, ...rest } = options;
  return parseOptions(detectOptionsSchema, rest);
}

/** Validates run() options once and fills in the defaults. */
export function resolveRunOptions(options: RunOptions): ResolvedRunOptions {
  const { signal: _signal, progress: _progress, ...rest } = options;
  return parseOptions(runOptionsSchema, rest);
}

/** Validated post-processing settings. */
export interface ResolvedPostprocess {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  classAgnostic: boolean;
  nms: 'hard' | 'soft-gaussian';
  /** Classes to report, by label or class id (checked against the model's labels when the detector is built). */
  classes?: readonly (string | number)[];
  /** Minimum score by label or class id, in place of scoreThreshold. */
  classScores?: Readonly<Record<string, number>>;
}

/** In-flight frame limit for flow control: up to maxInFlight frames and maxInFlightBytes, never
 *  fewer than two batches (so one batch can be in the engine while the next is prepared). */
export function inFlightLimit(width: number, height: number, batch: number): number {
  const byBytes = Math.floor(DEFAULTS.maxInFlightBytes / (width * height * 3));
  return Math.max(2 * batch, Math.min(DEFAULTS.maxInFlight, byBytes));
}

/** Merges the user's thresholds over the model's defaults. */
export function resolvePostprocess(
  o: Partial<Pick<ResolvedDetectOptions, 'score' | 'iou' | 'maxDetections' | 'classAgnostic' | 'softNms' | 'classes' | 'classScores'>>,
  d: ModelDescriptor,
): ResolvedPostprocess {
  return {
    scoreThreshold: o.score ?? d.postprocess.scoreThreshold,
    iouThreshold: o.iou ?? d.postprocess.iouThreshold,
    maxDetections: o.maxDetections ?? d.postprocess.maxDetections,
    classAgnostic: o.classAgnostic ?? d.postprocess.classAgnostic ?? false,
    nms: o.softNms ? 'soft-gaussian' : 'hard',
    ...(o.classes !== undefined ? { classes: o.classes } : {}),
    ...(o.classScores !== undefined ? { classScores: o.classScores } : {}),
  };
}

/** The post-processing a tracker needs: every threshold, per class too, lowered to its low threshold (its second stage uses those detections). */
export function lowerForTracker(p: ResolvedPostprocess, lowThreshold: number): ResolvedPostprocess {
  const low = (s: number): number => Math.min(s, lowThreshold);
  return {
    ...p,
    scoreThreshold: low(p.scoreThreshold),
    ...(p.classScores ? { classScores: Object.fromEntries(Object.entries(p.classScores).map(([k, s]) => [k, low(s)])) } : {}),
  };
}
