export { detect, openDetection, type DetectionSession, type SessionStream } from './pipeline/detect.js';
export { resolveSources, type SourceInput, type SessionSource, type SourceOutputs } from './pipeline/sources.js';
export { isFrameRecord, type PipelineRecord, type PipelineEvent } from './records.js';
export { run } from './pipeline/run.js';
export type { DetectOptions, RunOptions } from './pipeline/options.js';
export { loadPipelineSpec, parsePipelineSpec, type PipelineRun } from './pipeline/spec.js';
export {
  DEFAULTS,
  detectOptionsSchema,
  runOptionsSchema,
  pipelineFileSchema,
  optionMeta,
  type OptionMeta,
  type EngineChoice,
  type BackendChoice,
  type PipelineFile,
  type ResolvedDetectOptions,
  type ResolvedRunOptions,
} from './config/schema.js';
export { parseOptions } from './config/validate.js';
export { formatSummary, StatsCollector, type RunSummary, type SourceSummary } from './pipeline/stats.js';
export { SsdDetector, type PreparedBatch } from './inference/detector.js';
export { loadModel, listBundledModels, DEFAULT_MODEL, type LoadedModel } from './model-io/load-model.js';
export { exportOnnx } from './model-io/export-onnx.js';
export type { ModelDescriptor } from './model/descriptor.js';
export { createEngine } from './engines/select-engine.js';
export type { Engine, EngineKind, RawOutputs } from './engines/engine.js';
export { batchFrames, type BatchOptions } from './operators/batch-frames.js';
export { prepareBatches } from './operators/prepare-batches.js';
export { inferBatches } from './operators/infer-batches.js';
export { writeSinks } from './operators/write-sinks.js';
export { trackObjects } from './operators/track-objects.js';
export { freshestFrames, type FreshestFramesOptions } from './operators/freshest-frames.js';
export { ByteTracker, type TrackerOptions } from './tracking/byte-tracker.js';
export type { TrackRecord } from './tracking/track-record.js';
export { liveSource, type LiveSourceOptions } from './sources/live-source.js';
export type { StatusRecord } from './sources/reconnect-policy.js';
export { fileSource } from './sources/file-source.js';
export { probeInput, type MediaInfo } from './sources/probe.js';
export { FlowControl } from './sources/flow-control.js';
export { openJsonlSink, toFrameRecord, type JsonlFrameRecord } from './sinks/jsonl.js';
export { openAnnotatedVideo } from './sinks/annotated-video.js';
export type { Sink } from './sinks/sink.js';
export type { Frame } from './frame.js';
export type { Detection, FrameDetections, FrameTimings } from './detection.js';
export {
  SsdpipeError,
  OptionError,
  InputError,
  ModelError,
  EngineError,
  FfmpegError,
  OutputError,
  AbortedError,
  exitCodeFor,
  type ErrorCode,
  type SsdpipeErrorOptions,
} from './errors.js';
