import { z } from 'zod';
import {
  DEFAULT_HIGH_THRESHOLD,
  DEFAULT_LOW_MATCH_IOU,
  DEFAULT_LOW_THRESHOLD,
  DEFAULT_MATCH_IOU,
  DEFAULT_MAX_LOST_MS,
  DEFAULT_MIN_HITS,
  DEFAULT_NEW_TRACK_THRESHOLD,
} from '../tracking/byte-tracker.js';

// The one description of every option: the programmatic API's types and defaults, the CLI's
// flags (src/cli/flags.ts builds them from the metadata below) and the pipeline-file format
// all come from these schemas. A new option is added here once.
//
// Why zod: the API's TypeScript types are inferred from the same objects that validate values
// at run time (no generated code, no second description to keep in step), issues carry the path
// of the bad field (for pipeline-file errors), and metadata registries let the CLI read each
// field's flag and help text. It has no dependencies and is the most used schema library on npm.

/** How an option shows on the command line and in messages. */
export interface OptionMeta {
  /** Long flag with its value name, e.g. '--score <0..1>'; a boolean flag has no value name. */
  readonly flag: string;
  /** One-letter alias, e.g. '-m'. */
  readonly short?: string;
  /** Help text; say the default when it is not the schema's own (e.g. "the model's"). */
  readonly description: string;
  /** What a valid value is, for errors: 'a number in [0, 1]'. */
  readonly expected: string;
  /** The value a boolean flag sets; for --no-audio style flags, false. */
  readonly negate?: boolean;
}

/** Metadata of each option field (see OptionMeta). */
export const optionMeta = z.registry<OptionMeta>();

const field = <T extends z.ZodType>(schema: T, meta: OptionMeta): T => {
  optionMeta.add(schema, meta);
  return schema;
};

/** Defaults shared by the CLI, pipeline files and the programmatic API (defined once). */
export const DEFAULTS = {
  model: 'face',
  engine: 'auto',
  backend: 'auto',
  /** 'auto': 1 on CPU engines (batching gave no throughput there and adds latency: npm run
   *  bench), 8 on a GPU. */
  batch: 'auto',
  /** Batch size 'auto' picks on a GPU. */
  gpuBatch: 8,
  maxWaitMs: 50,
  /** Frames allowed in flight between the decoder and the sinks before ffmpeg is paused... */
  maxInFlight: 16,
  /** ...and at most this many bytes of decoded frames (a 4K frame is 25 MB). */
  maxInFlightBytes: 256 * 2 ** 20,
} as const;

/** Inference engines: auto picks (see engines/select-engine.ts). */
export const ENGINE_CHOICES = ['auto', 'onnx', 'tfjs'] as const;
/** TF.js backends: tensorflow is tfjs-node or tfjs-node-gpu. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

const probability = z.number().min(0).max(1);
// The CLI gives lists and maps as one string; a pipeline file or the API may give either form.
/** 'person, car' -> ['person', 'car']; anything else is left to the schema. */
function splitList(v: unknown): unknown {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
}

/** 'person=0.6,car=0.4' -> {person: 0.6, car: 0.4}; a pair without a number keeps its text, which the schema rejects. */
function parseScoreMap(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  return Object.fromEntries(
    v.split(',').map((pair) => {
      const eq = pair.lastIndexOf('=');
      if (eq < 0) return [pair.trim(), pair];
      const value = pair.slice(eq + 1).trim();
      return [pair.slice(0, eq).trim(), value !== '' && Number.isFinite(Number(value)) ? Number(value) : value];
    }),
  );
}

const positiveInt = z.number().int().min(1);

/** Model and post-processing options. */
export const modelFields = {
  model: field(z.string().min(1).default(DEFAULTS.model), {
    flag: '--model <name|path>',
    short: '-m',
    description: 'bundled model name, model descriptor .json or .tflite SSD',
    expected: 'a bundled model name or a descriptor path',
  }),
  labels: field(z.string().min(1).optional(), {
    flag: '--labels <labelmap.txt>',
    description: 'label map of a .tflite model, one label per line (default: its metadata)',
    expected: 'a label map file path',
  }),
  score: field(probability.optional(), {
    flag: '--score <0..1>',
    description: "minimum detection score (default: the model's, 0.5 for face)",
    expected: 'a number in [0, 1]',
  }),
  iou: field(probability.optional(), {
    flag: '--iou <0..1>',
    description: "NMS IoU threshold (default: the model's, 0.5 for face)",
    expected: 'a number in [0, 1]',
  }),
  maxDetections: field(positiveInt.optional(), {
    flag: '--max-detections <n>',
    description: "maximum detections per frame (default: the model's, 100 for face)",
    expected: 'an integer >= 1',
  }),
  classAgnostic: field(z.boolean().optional(), {
    flag: '--class-agnostic',
    description: "NMS across classes instead of per class (default: the model's; .tflite SSDs are class-agnostic)",
    expected: 'true or false',
  }),
  classes: field(z.preprocess(splitList, z.array(z.union([z.string().min(1), z.number().int().min(0)])).min(1)).optional(), {
    flag: '--classes <labels>',
    description: "report only these classes: labels or class ids, comma-separated (default: all the model's classes)",
    expected: "labels or class ids, e.g. person,car (a list in a pipeline file)",
  }),
  classScores: field(z.preprocess(parseScoreMap, z.record(z.string().min(1), probability)).optional(), {
    flag: '--class-scores <label=score,...>',
    description: 'minimum score per class, overriding --score for those classes (lowered to --track-low while tracking, as --score is)',
    expected: 'label=score pairs with scores in [0, 1], e.g. person=0.6,car=0.4 (an object in a pipeline file)',
  }),
  softNms: field(z.boolean().default(false), {
    flag: '--soft-nms',
    description: 'Gaussian soft-NMS instead of hard NMS',
    expected: 'true or false',
  }),
};

/** Engine and batching options. */
export const engineFields = {
  engine: field(z.enum(ENGINE_CHOICES).default(DEFAULTS.engine), {
    flag: '--engine <engine>',
    description: 'inference engine',
    expected: ENGINE_CHOICES.join(', '),
  }),
  backend: field(z.enum(BACKEND_CHOICES).default(DEFAULTS.backend), {
    flag: '--backend <backend>',
    description: 'TF.js backend (implies --engine tfjs when not auto)',
    expected: BACKEND_CHOICES.join(', '),
  }),
  threads: field(positiveInt.optional(), {
    flag: '--threads <n>',
    description: 'engine threads (default: all cores)',
    expected: 'an integer >= 1',
  }),
  batch: field(z.union([z.literal('auto'), positiveInt]).default(DEFAULTS.batch), {
    flag: '--batch <n|auto>',
    description: 'frames per inference batch; auto: 1 on CPU engines, 8 on a GPU',
    expected: 'an integer >= 1 or auto',
  }),
  maxWaitMs: field(z.number().min(0).default(DEFAULTS.maxWaitMs), {
    flag: '--max-wait-ms <ms>',
    description: 'longest wait for a batch to fill',
    expected: 'a number >= 0',
  }),
};

/** Object tracking (src/tracking/byte-tracker.ts says what each setting trades off). */
export const trackingFields = {
  track: field(z.boolean().default(true), {
    flag: '--no-track',
    description: 'no tracking: every track_id is null and no track records are written',
    expected: 'true or false',
  }),
  trackHigh: field(probability.optional(), {
    flag: '--track-high <0..1>',
    description: `score of a first-stage (trusted) detection (default ${DEFAULT_HIGH_THRESHOLD})`,
    expected: 'a number in [0, 1]',
  }),
  trackLow: field(probability.optional(), {
    flag: '--track-low <0..1>',
    description: `lowest score a detection may have to continue a track (default ${DEFAULT_LOW_THRESHOLD}); detections down to it are kept for the tracker`,
    expected: 'a number in [0, 1]',
  }),
  trackNew: field(probability.optional(), {
    flag: '--track-new <0..1>',
    description: `score a detection needs to start a track (default ${DEFAULT_NEW_TRACK_THRESHOLD})`,
    expected: 'a number in [0, 1]',
  }),
  trackMatchIou: field(probability.optional(), {
    flag: '--track-match-iou <0..1>',
    description: `IoU a detection needs with a track's predicted box (default ${DEFAULT_MATCH_IOU})`,
    expected: 'a number in (0, 1]',
  }),
  trackLowMatchIou: field(probability.optional(), {
    flag: '--track-low-match-iou <0..1>',
    description: `IoU a low-score detection needs (default ${DEFAULT_LOW_MATCH_IOU})`,
    expected: 'a number in (0, 1]',
  }),
  trackMinHits: field(positiveInt.optional(), {
    flag: '--track-min-hits <n>',
    description: `matched frames that confirm a track (default ${DEFAULT_MIN_HITS})`,
    expected: 'an integer >= 1',
  }),
  trackMaxLostMs: field(z.number().min(0).optional(), {
    flag: '--track-max-lost-ms <ms>',
    description: `how long a lost track is kept, in stream time (default ${DEFAULT_MAX_LOST_MS})`,
    expected: 'a number of milliseconds >= 0',
  }),
};

/** Live inputs (rtsp://, http(s)://, /dev/videoN): connection, reconnection and scheduling. */
export const liveFields = {
  rtspTransport: field(z.enum(['tcp', 'udp']).default('tcp'), {
    flag: '--rtsp-transport <transport>',
    description: 'RTSP transport',
    expected: 'tcp or udp',
  }),
  stallTimeout: field(z.number().gt(0).default(10), {
    flag: '--stall-timeout <s>',
    description: 'a live source that delivers no frame for this long is reconnected',
    expected: 'a number of seconds > 0',
  }),
  maxRetries: field(z.number().int().min(0).optional(), {
    flag: '--max-retries <n>',
    description: 'reconnection attempts in a row before a live source is given up (default: forever)',
    expected: 'an integer >= 0',
  }),
  fps: field(z.number().gt(0).optional(), {
    flag: '--fps <n>',
    description: 'at most this many frames per second of each live source go to the model (default: as many as it can take)',
    expected: 'a number > 0',
  }),
  duration: field(z.number().gt(0).optional(), {
    flag: '--duration <s>',
    description: 'stop after this many seconds (default: the end of the inputs, or Ctrl-C)',
    expected: 'a number of seconds > 0',
  }),
};

/** Which ffmpeg and ffprobe binaries run (default: resolved, see ssdpipe doctor). */
export const ffmpegFields = {
  ffmpegPath: field(z.string().min(1).optional(), {
    flag: '--ffmpeg <path>',
    description: 'ffmpeg binary (default: see ssdpipe doctor)',
    expected: 'a path to an ffmpeg binary',
  }),
  ffprobePath: field(z.string().min(1).optional(), {
    flag: '--ffprobe <path>',
    description: 'ffprobe binary (default: see ssdpipe doctor)',
    expected: 'a path to an ffprobe binary',
  }),
};

/** Output files of a run. */
export const outputFields = {
  jsonl: field(z.string().min(1).optional(), {
    flag: '--jsonl <file|->',
    description: 'write one JSON line per frame to a file, or - for stdout',
    expected: 'a file path or -',
  }),
  video: field(z.string().min(1).optional(), {
    flag: '--video <file.mp4>',
    description: 'write an annotated H.264 MP4 (same size and frame rate as the input)',
    expected: 'a file path',
  }),
  stats: field(z.string().min(1).optional(), {
    flag: '--stats <file.json>',
    description: 'write the run summary as JSON',
    expected: 'a file path',
  }),
  audio: field(z.boolean().default(true), {
    flag: '--no-audio',
    description: "no audio in the annotated video (by default a file input's first audio track is copied into it, as AAC)",
    expected: 'true or false',
  }),
};

/** Options of detect(): model, post-processing, tracking, live inputs, engine, batching, ffmpeg. */
export const detectOptionsSchema = z.object({ ...modelFields, ...trackingFields, ...liveFields, ...engineFields, ...ffmpegFields }).strict();

/** Options of run(): detect()'s plus the outputs. */
export const runOptionsSchema = detectOptionsSchema.extend(outputFields).strict();

/** The outputs of a pipeline file (paths relative to the file). */
export const pipelineOutputsSchema = z.object(outputFields).strict();

/** One input of a pipeline file, with an optional name (the `source` of its records). */
export const pipelineSourceSchema = z
  .object({
    name: z.string().min(1).optional(),
    input: z.string().min(1),
    outputs: z.object({ jsonl: outputFields.jsonl, video: outputFields.video }).strict().optional(),
  })
  .strict();

/**
 * A pipeline file (pipelines/*.json): every run option by the same name as in the API, the
 * input (`input`, or `sources` for several, each with its own outputs) and `outputs`.
 */
export const pipelineFileSchema = detectOptionsSchema
  .extend({
    $comment: z.string().optional(),
    input: z.string().min(1).optional(),
    sources: z.array(pipelineSourceSchema).min(1).optional(),
    outputs: pipelineOutputsSchema.optional(),
  })
  .strict()
  .refine((p) => (p.input === undefined) !== (p.sources === undefined), {
    message: 'exactly one of input or sources',
    path: ['input'],
  });

/** Options of detect() as the caller writes them (every field optional). */
export type DetectOptionsInput = z.input<typeof detectOptionsSchema>;
/** Options of detect() after validation, with the defaults filled in. */
export type ResolvedDetectOptions = z.output<typeof detectOptionsSchema>;
/** Options of run() as the caller writes them. */
export type RunOptionsInput = z.input<typeof runOptionsSchema>;
/** Options of run() after validation. */
export type ResolvedRunOptions = z.output<typeof runOptionsSchema>;
/** A pipeline file after validation. */
export type PipelineFile = z.output<typeof pipelineFileSchema>;
/** Engine choice: auto, onnx or tfjs. */
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
/** TF.js backend request. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
