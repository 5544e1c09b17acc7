import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tap, type Subscription } from 'rxjs';
import { bytePool } from '../buffer-pool.js';
import { DEFAULTS } from '../config/schema.js';
import { OptionError, OutputError } from '../errors.js';
import { checkOutputPath, createOutputDirs } from '../files/output-paths.js';
import { writeSinks } from '../operators/write-sinks.js';
import { isFrameRecord } from '../records.js';
import { openAnnotatedVideo } from '../sinks/annotated-video.js';
import { openJsonlSink } from '../sinks/jsonl.js';
import { openLiveVideo } from '../sinks/live-video.js';
import { ProgressBar } from '../sinks/progress.js';
import { forSource, type Sink } from '../sinks/sink.js';
import { StatusLine } from '../sinks/status-line.js';
import { openDetection, type DetectionSession } from './detect.js';
import { resolveRunOptions, type RunOptions } from './options.js';
import type { SourceReport } from '../sources/source-report.js';
import type { SessionSource, SourceInput } from './sources.js';
import { formatSource, StatsCollector, type RunSummary } from './stats.js';

/**
 * After a stop is asked for, how long the frames already decoded may take to go through the
 * model and the sinks before the rest are dropped (a run must stop within 2 s of a signal).
 */
export const STOP_DRAIN_MS = 700;

/**
 * Runs detection over one or more inputs and writes the outputs; resolves with the summary.
 * Files run to their end; live sources until the signal aborts or `duration` runs out.
 * Stopping ends the run cleanly: the decoders stop, the frames already decoded go through (for
 * up to STOP_DRAIN_MS, then they are dropped), open tracks end, every output is finalized (whole
 * JSONL lines, playable MP4s), and the summary says 'aborted' and counts the frames the outputs hold.
 */
export async function run(inputs: SourceInput | readonly SourceInput[], runOptions: RunOptions = {}): Promise<RunSummary> {
  const { signal, progress } = runOptions;
  const options = resolveRunOptions(runOptions);
  const { jsonl, video, stats: statsPath, audio, ...detectOptions } = options;
  const session = await openDetection(inputs, detectOptions);
  checkOutputs(session.sources, { jsonl, video, stats: statsPath });
  const stats = new StatsCollector();
  let outcome: Outcome;
  try {
    const outputs = await openOutputs(session, { jsonl, video, audio });
    try {
      outcome = await pump(session, outputs, stats, { signal, durationS: options.duration }, progress);
    } finally {
      await closeAll(outputs.sinks);
    }
  } finally {
    await session.close();
  }
  const ids = session.sources.map((s) => s.id);
  const summary = stats.summary({
    dropped: ids.reduce((n, id) => n + outcome.dropped(id), 0),
    model: session.descriptor.name,
    engine: session.engine.kind,
    backend: session.engine.backend,
    engine_reason: session.engine.reason,
    batch: session.batch,
    ended: outcome.ended,
    sources: ids,
    per_source: stats.sourceSummaries(ids, outcome.dropped),
    inputs: outcome.reports,
  });
  if (statsPath) await writeStats(statsPath, summary);
  return summary;
}

/** The sinks of a run; `jsonl` also says when its reader went away. */
interface Outputs {
  readonly sinks: Sink[];
  readonly jsonl: { readonly closed: boolean } | null;
}

/**
 * Opens the outputs: the run's JSONL takes every source's records, a source's own JSONL only
 * its records; each video shows one source (a file's is opened now, at its size and frame rate;
 * a live source's when its first frame comes). Closes those already open if a later one fails.
 */
async function openOutputs(session: DetectionSession, o: { jsonl?: string; video?: string; audio: boolean }): Promise<Outputs> {
  const sinks: Sink[] = [];
  try {
    const jsonl = o.jsonl ? await openJsonlSink({ target: o.jsonl }) : null;
    if (jsonl) sinks.push(jsonl);
    for (const source of session.sources) {
      const own = source.outputs?.jsonl;
      if (own) sinks.push(forSource(await openJsonlSink({ target: own }), source.id));
      const video = source.outputs?.video ?? (session.sources.length === 1 ? o.video : undefined);
      if (video) sinks.push(forSource(await openVideo(session, source, video, o.audio), source.id));
    }
    return { sinks, jsonl };
  } catch (err) {
    await closeAll(sinks).catch(() => undefined);
    throw err;
  }
}

/** A file's video takes the file's audio along unless `audio` is false; a live source's or standard input's (read once, by the decoder) is silent. */
function openVideo(session: DetectionSession, source: SessionSource, file: string, audio: boolean): Promise<Sink> {
  if (source.live || !source.info) return Promise.resolve(openLiveVideo({ path: file, ffmpegPath: session.ffmpegPath }));
  const { width, height, fps, isImage, audioCodec } = source.info;
  const audioFrom = audio && source.kind === 'file' && audioCodec !== null ? path.resolve(source.input) : undefined;
  return openAnnotatedVideo({ path: file, width, height, fps, stillImage: isImage, ffmpegPath: session.ffmpegPath, audioFrom });
}

/** How the record stream ended, and each source's frames lost. */
interface Outcome {
  ended: RunSummary['ended'];
  dropped(source: string): number;
  reports: SourceReport[];
}

/**
 * Streams records from the sources through the sinks until every source ends, the signal aborts
 * (the decoders stop and the frames in flight drain, up to STOP_DRAIN_MS), or the JSONL reader
 * goes away. Frames never leave run(): once the sinks have written one, its buffer is reused
 * and the source may send another.
 */
function pump(
  session: DetectionSession,
  outputs: Outputs,
  stats: StatsCollector,
  until: { signal?: AbortSignal; durationS?: number },
  stream: NodeJS.WriteStream | undefined,
): Promise<Outcome> {
  const { signal, durationS } = until;
  // Frame buffers kept for reuse: as many as may be in flight from one source.
  const framePool = bytePool(DEFAULTS.maxInFlight);
  const stop = new AbortController();
  const running = session.open(stop.signal, framePool);
  const display = progressDisplay(session, stats, running, stream);
  let ended: RunSummary['ended'] = 'complete';
  let drainTimer: NodeJS.Timeout | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  let sub: Subscription | undefined;
  // Frames a source produced that never reached the outputs (in flight at a stop, or replaced).
  const dropped = (id: string): number => running.dropped(id) + Math.max(0, running.decoded(id) - written(id));
  const writtenBy = new Map<string, number>();
  const written = (id: string): number => writtenBy.get(id) ?? 0;

  return new Promise<Outcome>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(drainTimer);
      clearTimeout(durationTimer);
      signal?.removeEventListener('abort', onAbort);
      display.finish();
      if (err === undefined) resolve({ ended, dropped, reports: running.reports() });
      else reject(err);
    };
    // Stopping: the decoders stop at once; what they already produced may drain for a while.
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
    if (durationS !== undefined) durationTimer = setTimeout(() => finish('duration', STOP_DRAIN_MS), durationS * 1000);
    sub = running.records
      .pipe(
        writeSinks(outputs.sinks),
        tap((record) => {
          if (!isFrameRecord(record)) return stats.recordEvent(record);
          stats.record(record, Date.now());
          writtenBy.set(record.frame.source, written(record.frame.source) + 1);
          framePool.give(record.frame.data);
          running.frameDone(record.frame);
          display.update();
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

/** A progress bar for one file; a per-source status line when there are live or several sources. */
function progressDisplay(
  session: DetectionSession,
  stats: StatsCollector,
  running: { dropped(source: string): number },
  stream: NodeJS.WriteStream | undefined,
): { update(): void; finish(): void } {
  const none = { update: () => undefined, finish: () => undefined };
  if (!stream) return none;
  const [only] = session.sources;
  if (session.sources.length === 1 && !only.live) {
    const bar = new ProgressBar({ total: only.info?.frameCount ?? null, stream });
    return { update: () => bar.update(stats.frames), finish: () => bar.finish() };
  }
  const ids = session.sources.map((s) => s.id);
  const line = new StatusLine({ stream, render: () => stats.sourceSummaries(ids, running.dropped).map(formatSource).join(' | ') });
  return { update: () => line.update(), finish: () => line.finish() };
}

/** Finalizes every output whatever happened; the first failure is thrown after all were tried. */
async function closeAll(sinks: readonly Sink[]): Promise<void> {
  const closing = await Promise.allSettled(sinks.map((s) => s.close()));
  const failed = closing.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Refuses outputs that would overwrite an input (a video is renamed over its target when
 * complete), one run video for several sources (each needs its own), and two outputs on one path.
 */
function checkOutputs(sources: readonly SessionSource[], o: { jsonl?: string; video?: string; stats?: string }): void {
  const inputs = new Set(sources.filter((s) => !s.live).map((s) => path.resolve(s.input)));
  const seen = new Map<string, string>();
  const check = (flag: string, out: string | undefined): void => {
    if (!out || out === '-') return;
    const abs = path.resolve(out);
    if (inputs.has(abs)) throw new OptionError(flag, 'an output path other than the input', out, 'choose another output file; the input would be overwritten');
    const other = seen.get(abs);
    if (other) throw new OptionError(flag, `a path not already used by ${other}`, out, 'give every output its own file');
    seen.set(abs, flag);
  };
  check('--jsonl', o.jsonl);
  check('--video', o.video);
  check('--stats', o.stats);
  // The stats file is written at the end: find out now, before decoding, if it cannot be.
  if (o.stats) checkOutputPath('stats', o.stats);
  for (const s of sources) {
    check(`outputs.jsonl of ${s.id}`, s.outputs?.jsonl);
    check(`outputs.video of ${s.id}`, s.outputs?.video);
  }
  if (o.video && sources.length > 1) {
    throw new OptionError('--video', 'one input (an annotated video shows one source)', `${sources.length} inputs`, 'give each source its own video in a pipeline file (sources[].outputs.video)');
  }
}

async function writeStats(file: string, summary: RunSummary): Promise<void> {
  // Checked like every output: a place that cannot be written fails at once, folders are made one level at a time.
  const target = checkOutputPath('stats', file);
  try {
    await createOutputDirs(target);
    await writeFile(target.path, JSON.stringify(summary, null, 2) + '\n');
  } catch (cause) {
    throw new OutputError(`cannot write stats to ${file}: ${(cause as Error).message}`, { cause });
  }
}

export type { RunOptions };
