import path from 'node:path';
import { Observable } from 'rxjs';
import { untilAborted } from '../operators/until-aborted.js';
import { trackObjects } from '../operators/track-objects.js';
import { isFrameRecord, type PipelineRecord } from '../records.js';
import { resolveTrackerOptions, type ResolvedTrackerOptions } from '../tracking/byte-tracker.js';
import type { BufferPool } from '../buffer-pool.js';
import type { FrameDetections } from '../detection.js';
import type { Engine } from '../engines/engine.js';
import { createEngine, resolveEngineKind, type EnginePick } from '../engines/select-engine.js';
import { createWorkerEngine } from '../engines/worker-engine.js';
import type { Frame } from '../frame.js';
import { SsdDetector } from '../inference/detector.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { loadModel, readModelDescriptor } from '../model-io/load-model.js';
import { batchFrames } from '../operators/batch-frames.js';
import { inferBatches } from '../operators/infer-batches.js';
import { prepareBatches } from '../operators/prepare-batches.js';
import { fileSource } from '../sources/file-source.js';
import { FlowControl } from '../sources/flow-control.js';
import { probeInput, type MediaInfo } from '../sources/probe.js';
import { DEFAULTS, type ResolvedDetectOptions } from '../config/schema.js';
import { inFlightLimit, resolveDetectOptions, resolvePostprocess, type DetectOptions } from './options.js';

/** Everything a detection run holds open: the probed input, the model on its engine. */
export interface DetectionSession {
  readonly input: string;
  readonly sourceId: string;
  readonly info: MediaInfo;
  readonly descriptor: ModelDescriptor;
  readonly engine: Engine;
  readonly detector: SsdDetector;
  readonly batch: number;
  /** The ffmpeg binary the user chose, if any (sinks that encode use the same). */
  readonly ffmpegPath: string | undefined;
  /** Frames allowed between the decoder and the end of the pipeline (see inFlightLimit). */
  readonly maxInFlight: number;
  /**
   * The frames-to-records stream: each frame's detections, then the track events it caused.
   * `flow` is released by whoever finishes the frames. Aborting `stop` stops the decoder and
   * completes the stream after the frames already decoded are through (so open tracks end
   * and outputs hold every frame decoded). With `framePool`, frame buffers come from it, and
   * the caller gives each back when done.
   */
  detections(flow: FlowControl, stop?: AbortSignal, framePool?: BufferPool<Uint8Array>): Observable<PipelineRecord>;
  /** Frees the engine. */
  close(): Promise<void>;
}

/**
 * Probes the input (so a bad file fails before the model loads), loads the model and engine.
 * The probe and the model load run concurrently.
 */
export async function openDetection(input: string, detectOptions: DetectOptions = {}): Promise<DetectionSession> {
  const options = resolveDetectOptions(detectOptions);
  const { maxWaitMs } = options;
  // Only the descriptor here: the weights are read where the engine runs (an ONNX worker reads
  // its own; reading them on this thread too would cost ~45 MB and ~40 ms for nothing).
  const { descriptor, descriptorPath } = readModelDescriptor(options.model, { labels: options.labels });
  const info = await probeInput(input, { ffprobePath: options.ffprobePath });
  const pick = await resolveEngineKind({ engine: options.engine, backend: options.backend });
  const requested = options.batch;
  const engine = await openEngine(descriptorPath, options, pick, requested === 'auto' ? 1 : Math.min(requested, 8));
  const onGpu = pick.gpu || engine.backend === 'cuda';
  const batch = requested === 'auto' ? (onGpu ? DEFAULTS.gpuBatch : 1) : requested;
  const tracker = options.track ? trackerOptions(options) : null;
  const postprocess = resolvePostprocess(options, descriptor);
  // The tracker's second stage needs the detections down to its low threshold.
  if (tracker) postprocess.scoreThreshold = Math.min(postprocess.scoreThreshold, tracker.lowThreshold);
  const detector = new SsdDetector(descriptor, engine, postprocess);
  const sourceId = path.basename(input);

  return {
    input, sourceId, info, descriptor, engine, detector, batch, ffmpegPath: options.ffmpegPath,
    maxInFlight: inFlightLimit(info.width, info.height, batch),
    detections(flow, stop, framePool) {
      const detections = fileSource(input, { sourceId, flow, framePool, info, ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath }).pipe(
        untilAborted(stop),
        batchFrames<Frame>({ size: batch, maxWaitMs }),
        prepareBatches(detector),
        // A worker engine queues the next batch while one runs, so it never waits for this thread.
        inferBatches(detector, { depth: engine.queuesRuns ? 2 : 1 }),
      );
      return tracker ? detections.pipe(trackObjects(tracker)) : detections;
    },
    close: () => engine.dispose(),
  };
}

/**
 * Loads the engine for a run. ONNX Runtime runs in a worker thread: its run() is synchronous and
 * would otherwise block the event loop that reads ffmpeg's pipes, preprocesses the next batch and
 * writes outputs. TF.js stays on the main thread (tfjs-node's native addon is not worker-safe).
 */
async function openEngine(
  descriptorPath: string,
  options: ResolvedDetectOptions,
  pick: EnginePick,
  warmupBatch: number,
): Promise<Engine> {
  const engineOptions = { engine: options.engine, backend: options.backend, threads: options.threads, warmupBatch };
  if (pick.kind !== 'onnx') return createEngine((await loadModel(descriptorPath)).graph, engineOptions, pick);
  return createWorkerEngine(descriptorPath, engineOptions, pick);
}

/**
 * Programmatic API: per-frame detections of a video file or image, with the track events
 * each frame caused right after it (`isFrameRecord` tells them apart), as an Observable.
 * Subscribing probes the input, loads the model and starts ffmpeg; unsubscribing stops ffmpeg
 * and frees the engine; aborting options.signal stops the decoder and completes once the
 * frames already decoded are through. Each emitted frame is released for flow control once
 * the subscriber's `next` returns, so a slow synchronous consumer pauses the decoder.
 */
export function detect(input: string, options: DetectOptions = {}): Observable<PipelineRecord> {
  return new Observable<PipelineRecord>((subscriber) => {
    let session: DetectionSession | null = null;
    let closed = false;
    let inner: { unsubscribe(): void } | null = null;
    openDetection(input, options).then(
      (s) => {
        session = s;
        if (closed) {
          void s.close();
          return;
        }
        const flow = new FlowControl(s.maxInFlight);
        inner = s.detections(flow, options.signal).subscribe({
          next: (record) => {
            subscriber.next(record);
            if (isFrameRecord(record)) flow.release(1);
          },
          error: (err) => {
            void s.close().finally(() => subscriber.error(err));
          },
          complete: () => {
            void s.close().then(() => subscriber.complete(), (err) => subscriber.error(err));
          },
        });
      },
      (err) => subscriber.error(err),
    );
    return () => {
      closed = true;
      inner?.unsubscribe();
      if (session) void (session as DetectionSession).close();
    };
  });
}

/** The tracker settings of validated options (checked together once, in resolveTrackerOptions). */
function trackerOptions(o: ResolvedDetectOptions): ResolvedTrackerOptions {
  return resolveTrackerOptions({
    highThreshold: o.trackHigh,
    lowThreshold: o.trackLow,
    newTrackThreshold: o.trackNew,
    matchIou: o.trackMatchIou,
    lowMatchIou: o.trackLowMatchIou,
    minHits: o.trackMinHits,
    maxLostMs: o.trackMaxLostMs,
  });
}
