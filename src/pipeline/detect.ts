import { filter, merge, Observable, share, Subject, tap } from 'rxjs';
import { DEFAULTS, type ResolvedDetectOptions } from '../config/schema.js';
import type { BufferPool } from '../buffer-pool.js';
import type { Engine } from '../engines/engine.js';
import { createEngine, resolveEngineKind, type EnginePick } from '../engines/select-engine.js';
import { createWorkerEngine } from '../engines/worker-engine.js';
import type { Frame } from '../frame.js';
import { SsdDetector } from '../inference/detector.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { ensureModel, loadEngineModel, readModelDescriptor } from '../model-io/load-model.js';
import { batchFrames } from '../operators/batch-frames.js';
import { freshestFrames } from '../operators/freshest-frames.js';
import { inferBatches } from '../operators/infer-batches.js';
import { prepareBatches } from '../operators/prepare-batches.js';
import { trackObjects } from '../operators/track-objects.js';
import { untilAborted } from '../operators/until-aborted.js';
import { isFrameRecord, type PipelineRecord } from '../records.js';
import { fileSource } from '../sources/file-source.js';
import { FlowControl } from '../sources/flow-control.js';
import { liveSource, isStatusRecord, type LiveEvent } from '../sources/live-source.js';
import { probeInput } from '../sources/probe.js';
import { probeStdin, stdinSource } from '../sources/stdin-source.js';
import type { SourceReport } from '../sources/source-report.js';
import type { StatusRecord } from '../sources/reconnect-policy.js';
import { resolveTrackerOptions, type ResolvedTrackerOptions } from '../tracking/byte-tracker.js';
import { inFlightLimit, lowerForTracker, resolveDetectOptions, resolvePostprocess, type DetectOptions } from './options.js';
import { resolveSources, type SessionSource, type SourceInput } from './sources.js';

/** Everything a detection run holds open: its sources, the model on its engine. */
export interface DetectionSession {
  /** The sources, with their ids (the `source` of every record) and, for files, the probe. */
  readonly sources: readonly SessionSource[];
  readonly descriptor: ModelDescriptor;
  readonly engine: Engine;
  readonly detector: SsdDetector;
  readonly batch: number;
  /** The ffmpeg binary the user chose, if any (sinks that encode use the same). */
  readonly ffmpegPath: string | undefined;
  /**
   * Starts every source: one stream of records from all of them, frames batched together through
   * the one model and routed back by `frame.source`; each frame's detections come with the
   * track events it caused, and live sources add their status records. Aborting `stop` stops
   * the decoders and completes the stream after the frames already decoded are through.
   * With `framePool`, file frame buffers come from it, and the caller gives each back when done.
   */
  open(stop?: AbortSignal, framePool?: BufferPool<Uint8Array>): SessionStream;
  /** Frees the engine. */
  close(): Promise<void>;
}

/** A running session's records, and how the consumer hands finished frames back. */
export interface SessionStream {
  readonly records: Observable<PipelineRecord>;
  /**
   * Call once per frame when done with it: a file source may then decode another (flow control),
   * a live source may send its next freshest frame to the model.
   */
  frameDone(frame: Frame): void;
  /** Frames of a source that entered the pipeline so far (a live source's after scheduling). */
  decoded(source: string): number;
  /** Live frames replaced by a fresher one before the model could take them, per source. */
  dropped(source: string): number;
  /** What each file source found when it ended: frames declared and decoded, truncation, damage. */
  reports(): SourceReport[];
}

/**
 * Checks the options and sources, probes the files and standard input (so a bad input fails
 * before the model loads), loads the model and engine. Live sources are probed when they connect.
 */
export async function openDetection(inputs: SourceInput | readonly SourceInput[], detectOptions: DetectOptions = {}): Promise<DetectionSession> {
  const options = resolveDetectOptions(detectOptions);
  const specs = resolveSources(inputs);
  // Only the descriptor here: the weights are read where the engine runs (an ONNX worker reads
  // its own; reading them on this thread too would cost ~45 MB and ~40 ms for nothing).
  // A catalog model (ssdpipe models list) is downloaded into the cache on first use.
  await ensureModel(options.model);
  const { descriptor, descriptorPath } = readModelDescriptor(options.model, { labels: options.labels });
  const sources = await Promise.all(specs.map((s) => probeSource(s, options.ffprobePath)));
  const pick = await resolveEngineKind({ engine: options.engine, backend: options.backend, onnxFile: descriptor.weights.format === 'onnx', tfjsGraph: descriptor.weights.format === 'tfjs-graph' });
  const requested = options.batch;
  const engine = await openEngine(descriptorPath, options, pick, requested === 'auto' ? 1 : Math.min(requested, 8));
  const onGpu = pick.gpu || engine.backend === 'cuda';
  const batch = requested === 'auto' ? (onGpu ? DEFAULTS.gpuBatch : 1) : requested;
  const tracker = options.track ? trackerOptions(options) : null;
  const resolved = resolvePostprocess(options, descriptor);
  // The tracker's second stage needs the detections down to its low threshold.
  const postprocess = tracker ? lowerForTracker(resolved, tracker.lowThreshold) : resolved;
  const detector = new SsdDetector(descriptor, engine, postprocess);

  return {
    sources, descriptor, engine, detector, batch, ffmpegPath: options.ffmpegPath,
    open: (stop, framePool) => openStream({ sources, options, detector, engine, batch, tracker, stop, framePool }),
    close: () => engine.dispose(),
  };
}

/**
 * A file's probe, or standard input's (its head is read now and kept for the decoder); live
 * sources as they are.
 */
async function probeSource(s: SessionSource, ffprobePath: string | undefined): Promise<SessionSource> {
  if (s.live) return s;
  if (s.kind !== 'stdin') return { ...s, info: await probeInput(s.input, { ffprobePath }) };
  const stdin = await probeStdin({ ffprobePath });
  return { ...s, info: stdin.info, stdin };
}

interface StreamParts {
  sources: readonly SessionSource[];
  options: ResolvedDetectOptions;
  detector: SsdDetector;
  engine: Engine;
  batch: number;
  tracker: ResolvedTrackerOptions | null;
  stop: AbortSignal | undefined;
  framePool: BufferPool<Uint8Array> | undefined;
}

/**
 * Wires the sources into one record stream: files through flow control (every frame, the decoder
 * paused when the pipeline is full), live sources through freshest-frame scheduling (never a
 * queue of stale frames: while the model is busy only each source's newest frame waits), then
 * one batching, inference and tracking path for all of them.
 */
function openStream(p: StreamParts): SessionStream {
  const received = new Counter();
  const dropped = new Counter();
  const files = fileStreams(p);
  // Credits for live frames: one comes back each time the consumer is done with a live frame.
  const credits = new Subject<number>();
  const live = liveStreams(p, credits, (f) => dropped.add(f.source));
  const frames = merge(...files.frames, live.frames).pipe(
    // Counted here, as frames enter the pipeline (after a live source's scheduling).
    tap((f) => received.add(f.source)),
  );
  const tracked = detectAndTrack(frames, p);
  // Status records first: share() starts the live sources on its first subscriber, and their
  // first records ('connecting') come at once.
  const records = live.status ? merge(live.status, tracked) : tracked;
  return {
    records,
    frameDone(frame) {
      const flow = files.flows.get(frame.source);
      if (flow) flow.release(1);
      else credits.next(1);
    },
    decoded: (source) => received.get(source),
    dropped: (source) => dropped.get(source),
    reports: () => [...files.reports],
  };
}

/** Counts per source. */
class Counter {
  private readonly counts = new Map<string, number>();
  add(id: string): void {
    this.counts.set(id, this.get(id) + 1);
  }
  get(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}

/**
 * Every file source and standard input, each with its own flow control (every frame is
 * processed; the decoder waits).
 */
function fileStreams(p: StreamParts): { frames: Observable<Frame>[]; flows: Map<string, FlowControl>; reports: SourceReport[] } {
  const { options } = p;
  const flows = new Map<string, FlowControl>();
  const reports: SourceReport[] = [];
  const frames = p.sources
    .filter((s) => !s.live)
    .map((s) => {
      const flow = new FlowControl(inFlightLimit(s.info!.width, s.info!.height, p.batch));
      flows.set(s.id, flow);
      const onReport = (r: SourceReport): void => void reports.push(r);
      const frames = s.stdin
        ? stdinSource(s.stdin, { sourceId: s.id, flow, framePool: p.framePool, onReport, ffmpegPath: options.ffmpegPath })
        : fileSource(s.input, { sourceId: s.id, flow, framePool: p.framePool, info: s.info, onReport, ffmpegPath: options.ffmpegPath, ffprobePath: options.ffprobePath });
      return frames.pipe(untilAborted(p.stop));
    });
  return { frames, flows, reports };
}

/**
 * Every live source through one freshest-frame scheduler: frames go out as credits come back,
 * only each source's newest frame waits, sources take turns. `status` is null without live sources.
 */
function liveStreams(
  p: StreamParts,
  credits: Observable<number>,
  onDrop: (f: Frame) => void,
): { frames: Observable<Frame>; status: Observable<StatusRecord> | null } {
  const { options } = p;
  const live = p.sources.filter((s) => s.live);
  const events = merge(
    ...live.map((s) =>
      liveSource(s.input, {
        name: s.id,
        signal: p.stop,
        rtspTransport: options.rtspTransport,
        stallTimeoutMs: options.stallTimeout * 1000,
        reconnect: options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries },
        ffmpegPath: options.ffmpegPath,
        ffprobePath: options.ffprobePath,
      }),
    ),
  ).pipe(
    freshestFrames<LiveEvent>({
      ready$: credits,
      // One batch in the engine while the next is prepared, as for files.
      initialCredits: 2 * p.batch,
      maxFps: options.fps,
      passThrough: isStatusRecord,
      onDrop: (e) => onDrop(e as Frame),
    }),
    share(),
  );
  return {
    frames: events.pipe(filter((e): e is Frame => !isStatusRecord(e))),
    status: live.length ? events.pipe(filter(isStatusRecord)) : null,
  };
}

/** Frames of all sources batched through the one model, split back per frame, then tracked per source. */
function detectAndTrack(frames: Observable<Frame>, p: StreamParts): Observable<PipelineRecord> {
  const detections = frames.pipe(
    batchFrames<Frame>({ size: p.batch, maxWaitMs: p.options.maxWaitMs }),
    prepareBatches(p.detector),
    // A worker engine queues the next batch while one runs, so it never waits for this thread.
    inferBatches(p.detector, { depth: p.engine.queuesRuns ? 2 : 1 }),
  );
  return p.tracker ? detections.pipe(trackObjects(p.tracker)) : detections;
}

/**
 * Loads the engine for a run. ONNX Runtime runs in a worker thread: its run() is synchronous and
 * would otherwise block the event loop that reads ffmpeg's pipes, preprocesses the next batch and
 * writes outputs. TF.js stays on the main thread (tfjs-node's native addon is not worker-safe).
 */
async function openEngine(descriptorPath: string, options: ResolvedDetectOptions, pick: EnginePick, warmupBatch: number): Promise<Engine> {
  const engineOptions = { engine: options.engine, backend: options.backend, threads: options.threads, warmupBatch };
  if (pick.kind !== 'onnx') return createEngine(await loadEngineModel(descriptorPath, { labels: options.labels }), engineOptions, pick);
  return createWorkerEngine(descriptorPath, engineOptions, pick);
}

/**
 * Programmatic API: per-frame detections of one or more inputs (files, images, live streams),
 * with the track events each frame caused right after it and the status records of live
 * sources (`isFrameRecord` tells frames from events), as an Observable.
 * Subscribing probes the files, loads the model and starts the decoders; unsubscribing stops
 * them and frees the engine; aborting options.signal (or options.duration running out) stops the
 * decoders and completes once the frames already decoded are through. Each emitted frame is
 * handed back once the subscriber's `next` returns, so a slow synchronous consumer pauses file
 * decoders (and makes live sources drop frames).
 */
export function detect(inputs: SourceInput | readonly SourceInput[], options: DetectOptions = {}): Observable<PipelineRecord> {
  return new Observable<PipelineRecord>((subscriber) => {
    let session: DetectionSession | null = null;
    let closed = false;
    let inner: { unsubscribe(): void } | null = null;
    const stop = stopSignal(options.signal, options.duration);
    openDetection(inputs, options).then(
      (s) => {
        session = s;
        if (closed) {
          void s.close();
          return;
        }
        const stream = s.open(stop.signal);
        inner = stream.records.subscribe({
          next: (record) => {
            subscriber.next(record);
            if (isFrameRecord(record)) stream.frameDone(record.frame);
          },
          error: (err) => {
            stop.dispose();
            void s.close().finally(() => subscriber.error(err));
          },
          complete: () => {
            stop.dispose();
            void s.close().then(() => subscriber.complete(), (err) => subscriber.error(err));
          },
        });
      },
      (err) => {
        stop.dispose();
        subscriber.error(err);
      },
    );
    return () => {
      closed = true;
      stop.dispose();
      inner?.unsubscribe();
      if (session) void (session as DetectionSession).close();
    };
  });
}

/** A signal that aborts when `outer` does or after `durationS` seconds; dispose() drops the timer. */
export function stopSignal(outer: AbortSignal | undefined, durationS: number | undefined): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(outer?.reason);
  if (outer?.aborted) ac.abort(outer.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  const timer = durationS === undefined ? undefined : setTimeout(() => ac.abort(new Error(`--duration ${durationS} s elapsed`)), durationS * 1000);
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
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
