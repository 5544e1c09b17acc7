import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tap, type Subscription } from 'rxjs';
import { bytePool, type BufferPool } from '../buffer-pool.js';
import { OptionError, OutputError } from '../errors.js';
import { writeSinks } from '../operators/write-sinks.js';
import { isFrameRecord } from '../records.js';
import { openAnnotatedVideo } from '../sinks/annotated-video.js';
import { openJsonlSink } from '../sinks/jsonl.js';
import { ProgressBar } from '../sinks/progress.js';
import type { Sink } from '../sinks/sink.js';
import { FlowControl } from '../sources/flow-control.js';
import { openDetection, type DetectionSession } from './detect.js';
import { resolveRunOptions, type RunOptions } from './options.js';
import { StatsCollector, type RunSummary } from './stats.js';

/**
 * After a stop is asked for, how long the frames already decoded may take to go through the
 * model and the sinks before the rest are dropped (a run must stop within 2 s of a signal).
 */
export const STOP_DRAIN_MS = 1500;

/**
 * Runs detection over a file or image and writes the outputs; resolves with the summary.
 * Stopping through options.signal ends the run cleanly: the decoder stops, the frames already
 * decoded go through (for up to STOP_DRAIN_MS, then they are dropped), open tracks end, every
 * output is finalized (whole JSONL lines, a playable MP4), and the summary says 'aborted' and
 * counts the frames the outputs hold.
 */
export async function run(input: string, runOptions: RunOptions = {}): Promise<RunSummary> {
  const { signal, progress } = runOptions;
  const options = resolveRunOptions(runOptions);
  checkOutputsAreNotInput(input, options);
  const { jsonl, video, stats: statsPath, ...detectOptions } = options;
  const session = await openDetection(input, detectOptions);
  const stats = new StatsCollector();
  let outcome: Outcome;
  try {
    const outputs = await openOutputs(session, { jsonl, video });
    try {
      outcome = await pump(session, outputs, stats, signal, progress);
    } finally {
      await closeAll(outputs.sinks);
    }
  } finally {
    await session.close();
  }
  const summary = stats.summary({
    dropped: Math.max(0, outcome.decoded - stats.frames),
    model: session.descriptor.name,
    engine: session.engine.kind,
    backend: session.engine.backend,
    batch: session.batch,
    ended: outcome.ended,
    sources: [session.sourceId],
  });
  if (statsPath) await writeStats(statsPath, summary);
  return summary;
}

/** The sinks of a run; `jsonl` also says when its reader went away. */
interface Outputs {
  readonly sinks: Sink[];
  readonly jsonl: { readonly closed: boolean } | null;
}

/** Opens the requested outputs; closes those already open if a later one fails. */
async function openOutputs(session: DetectionSession, o: { jsonl?: string; video?: string }): Promise<Outputs> {
  const sinks: Sink[] = [];
  try {
    const jsonl = o.jsonl ? await openJsonlSink({ target: o.jsonl }) : null;
    if (jsonl) sinks.push(jsonl);
    if (o.video) {
      const { width, height, fps } = session.info;
      sinks.push(await openAnnotatedVideo({ path: o.video, width, height, fps, ffmpegPath: session.ffmpegPath }));
    }
    return { sinks, jsonl };
  } catch (err) {
    await closeAll(sinks).catch(() => undefined);
    throw err;
  }
}

/** How the record stream ended, and how many frames the decoder produced. */
interface Outcome {
  ended: RunSummary['ended'];
  decoded: number;
}

/**
 * Streams records from the decoder through the sinks until the input ends, the signal aborts
 * (the decoder stops and the frames in flight drain, up to STOP_DRAIN_MS), or the JSONL reader
 * goes away. Frames never leave run(): once the sinks have written one, its buffer is reused
 * and its flow-control credit returned.
 */
function pump(
  session: DetectionSession,
  outputs: Outputs,
  stats: StatsCollector,
  signal: AbortSignal | undefined,
  stream: NodeJS.WriteStream | undefined,
): Promise<Outcome> {
  const flow = new FlowControl(session.maxInFlight);
  const framePool: BufferPool<Uint8Array> = bytePool(session.maxInFlight);
  const progress = stream ? new ProgressBar({ total: session.info.frameCount, stream }) : null;
  const stop = new AbortController();
  let ended: RunSummary['ended'] = 'complete';
  let drainTimer: NodeJS.Timeout | undefined;
  let sub: Subscription | undefined;

  return new Promise<Outcome>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      signal?.removeEventListener('abort', onAbort);
      progress?.finish();
      if (err === undefined) resolve({ ended, decoded: flow.totalEmitted });
      else reject(err);
    };
    // Stopping: the decoder stops at once; what it already produced may drain for a while.
    const finish = (why: RunSummary['ended'], drainMs: number): void => {
      if (stop.signal.aborted) return;
      ended = why;
      stop.abort();
      drainTimer = setTimeout(() => {
        sub?.unsubscribe();
        settle();
      }, drainMs);
    };
    const onAbort = (): void => finish('aborted', STOP_DRAIN_MS);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    sub = session
      .detections(flow, stop.signal, framePool)
      .pipe(
        writeSinks(outputs.sinks),
        tap((record) => {
          if (!isFrameRecord(record)) return stats.recordEvent(record);
          stats.record(record);
          framePool.give(record.frame.data);
          flow.release(1);
          progress?.update(stats.frames);
        }),
      )
      .subscribe({
        // Nobody reads the JSONL any more (`| head`): nothing left to do.
        next: () => (outputs.jsonl?.closed ? finish('output-closed', 0) : undefined),
        error: (err: unknown) => settle(err ?? new Error('pipeline failed')),
        complete: () => settle(),
      });
  });
}

/** Finalizes every output whatever happened; the first failure is thrown after all were tried. */
async function closeAll(sinks: readonly Sink[]): Promise<void> {
  const closing = await Promise.allSettled(sinks.map((s) => s.close()));
  const failed = closing.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Refuses an output path that is the input: the MP4 is renamed over its target when complete. */
function checkOutputsAreNotInput(input: string, options: Pick<RunOptions, 'jsonl' | 'video' | 'stats'>): void {
  const src = path.resolve(input);
  for (const [flag, out] of [['--jsonl', options.jsonl], ['--video', options.video], ['--stats', options.stats]] as const) {
    if (out && out !== '-' && path.resolve(out) === src) {
      throw new OptionError(flag, 'an output path other than the input', out, 'choose another output file; the input would be overwritten');
    }
  }
}

async function writeStats(file: string, summary: RunSummary): Promise<void> {
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(file, JSON.stringify(summary, null, 2) + '\n');
  } catch (cause) {
    throw new OutputError(`cannot write stats to ${file}: ${(cause as Error).message}`, { cause });
  }
}

export type { RunOptions };
