import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Subscription, tap } from 'rxjs';
import { bytePool } from '../buffer-pool.js';
import { OptionError, OutputError } from '../errors.js';
import { writeSinks } from '../operators/write-sinks.js';
import { openAnnotatedVideo } from '../sinks/annotated-video.js';
import { openJsonlSink } from '../sinks/jsonl.js';
import { ProgressBar } from '../sinks/progress.js';
import type { Sink } from '../sinks/sink.js';
import { FlowControl } from '../sources/flow-control.js';
import { openDetection } from './detect.js';
import { resolveRunOptions, type RunOptions } from './options.js';
import { StatsCollector, type RunSummary } from './stats.js';

/**
 * Runs detection over a file or image and writes the outputs; resolves with the summary.
 * Stopping through options.signal ends the run cleanly: frames in flight are dropped, every
 * output is finalized (whole JSONL lines, a playable MP4), and the summary says 'aborted'.
 */
export async function run(input: string, runOptions: RunOptions = {}): Promise<RunSummary> {
  const options = { ...resolveRunOptions(runOptions), signal: runOptions.signal, progress: runOptions.progress };
  checkOutputsAreNotInput(input, options);
  const { jsonl: _j, video: _v, stats: _s, progress: _p, ...detectOptions } = options;
  const session = await openDetection(input, detectOptions);
  const sinks: Sink[] = [];
  const stats = new StatsCollector();
  let decoded = 0;
  let ended: RunSummary['ended'] = 'complete';
  try {
    let jsonl: Awaited<ReturnType<typeof openJsonlSink>> | null = null;
    if (options.jsonl) {
      jsonl = await openJsonlSink({ target: options.jsonl });
      sinks.push(jsonl);
    }
    if (options.video) {
      sinks.push(
        await openAnnotatedVideo({
          path: options.video,
          width: session.info.width,
          height: session.info.height,
          fps: session.info.fps,
          ffmpegPath: options.ffmpegPath,
        }),
      );
    }
    const progress = options.progress ? new ProgressBar({ total: session.info.frameCount, stream: options.progress }) : null;
    const flow = new FlowControl(session.maxInFlight);
    // Frames never leave run(): once the sinks have written one, its buffer is reused.
    const framePool = bytePool(session.maxInFlight);

    await new Promise<void>((resolve, reject) => {
      let sub: Subscription | null = null;
      const settle = (err?: unknown): void => {
        options.signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      // Stopping early: unsubscribing stops ffmpeg and drops the frames in flight.
      const finish = (why: RunSummary['ended']): void => {
        ended = why;
        sub?.unsubscribe();
        settle();
      };
      const onAbort = (): void => finish('aborted');
      if (options.signal?.aborted) return finish('aborted');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      sub = session
        .detections(flow, undefined, framePool)
        .pipe(
          writeSinks(sinks),
          tap((fd) => {
            stats.record(fd);
            framePool.give(fd.frame.data);
            flow.release(1);
            progress?.update(stats.frames);
          }),
        )
        .subscribe({
          next: () => {
            if (jsonl?.closed) finish('output-closed');
          },
          error: (err: unknown) => settle(err ?? new Error('pipeline failed')),
          complete: () => settle(),
        });
    }).finally(() => {
      progress?.finish();
      decoded = flow.totalEmitted;
    });
  } finally {
    // Finalize every output whatever happened, then free the engine.
    const closing = await Promise.allSettled(sinks.map((s) => s.close()));
    await session.close();
    const failed = closing.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
  const summary = stats.summary({
    dropped: Math.max(0, decoded - stats.frames),
    model: session.descriptor.name,
    engine: session.engine.kind,
    backend: session.engine.backend,
    batch: session.batch,
    ended,
    sources: [session.sourceId],
  });
  if (options.stats) await writeStats(options.stats, summary);
  return summary;
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
