import path from 'node:path';
import { Observable } from 'rxjs';
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
  /** Frames allowed between the decoder and the end of the pipeline (see inFlightLimit). */
  readonly maxInFlight: number;
  /**
   * The frames-to-detections stream; `flow` is released by whoever finishes the frames.
   * With `framePool`, frame buffers come from it, and the caller gives each back when done.
   */
  detections(flow: FlowControl, signal?: AbortSignal, framePool?: BufferPool<Uint8Array>): Observable<FrameDetections>;
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
  const detector = new SsdDetector(descriptor, engine, resolvePostprocess(options, descriptor));
  const sourceId = path.basename(input);

  return {
    input, sourceId, info, descriptor, engine, detector, batch,
    maxInFlight: inFlightLimit(info.width, info.height, batch),
    detections(flow, signal, framePool) {
      return fileSource(input, { sourceId, signal, flow, framePool, info, ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath }).pipe(
        batchFrames<Frame>({ size: batch, maxWaitMs }),
        prepareBatches(detector),
        // A worker engine queues the next batch while one runs, so it never waits for this thread.
        inferBatches(detector, { depth: engine.queuesRuns ? 2 : 1 }),
      );
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
 * Programmatic API: per-frame detections of a video file or image, as an Observable.
 * Subscribing probes the input, loads the model and starts ffmpeg; unsubscribing stops ffmpeg
 * and frees the engine. Each emitted frame is released for flow control once the subscriber's
 * `next` returns, so a slow synchronous consumer pauses the decoder.
 */
export function detect(input: string, options: DetectOptions = {}): Observable<FrameDetections> {
  return new Observable<FrameDetections>((subscriber) => {
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
          next: (fd) => {
            subscriber.next(fd);
            flow.release(1);
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
