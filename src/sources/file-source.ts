import path from 'node:path';
import { Observable } from 'rxjs';
import type { BufferPool } from '../buffer-pool.js';
import { AbortedError, FfmpegError, InputError, OptionError, lastLine } from '../errors.js';
import type { Frame } from '../frame.js';
import { decodeRgbArgs, demuxTimeBaseArgs, fileInputUrl, passthroughSyncArgs } from './ffmpeg-args.js';
import { ffmpegVersion, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg/ffmpeg-process.js';
import type { FlowControl } from './flow-control.js';
import { DamageCounter, emitDecodedFrames } from './decoded-frames.js';
import { checkInputFile, probeInput, type MediaInfo } from './probe.js';
import type { SourceReport } from './source-report.js';

/** Options for fileSource. */
export interface FileSourceOptions {
  /** Frame.source of every frame (default: the file's base name). */
  sourceId?: string;
  /** Aborting stops ffmpeg and errors the Observable with AbortedError. */
  signal?: AbortSignal;
  /**
   * Where frame buffers come from. Whoever owns the pool gives each frame's data back once no one
   * reads it (run() does, after the sinks); frames handed to other code must not be given back.
   */
  framePool?: BufferPool<Uint8Array>;
  /** Credit-based backpressure: reading stops while `flow.saturated`, resumes on `flow.onDrain`. */
  flow?: FlowControl;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Skip probing and trust this (e.g. probed earlier for a plan). */
  info?: MediaInfo;
  /**
   * Called once when the input has been read to its end, just before the Observable completes:
   * frames declared and decoded, whether the file was cut short, how much damage ffmpeg skipped.
   * Not called after an error, an abort or an unsubscribe.
   */
  onReport?: (report: SourceReport) => void;
}


/**
 * Decodes a local video or image file to RGB24 frames, each with its presentation time from the
 * container (ptsMs, also for variable frame rate; see frameTimestampArgs) and turned upright as
 * the rotation metadata says (ffmpeg's autorotate; probeInput reports the turned size). Each
 * subscription probes the file
 * (unless `info` is given) and runs its own ffmpeg; unsubscribing stops that ffmpeg
 * ('q', then SIGTERM, then SIGKILL) and nothing is emitted after teardown.
 * Errors: InputError E_INPUT_NOT_FOUND / E_INPUT_UNREADABLE / E_NO_FRAMES, FfmpegError when
 * ffmpeg dies after decoding frames, AbortedError on abort.
 */
export function fileSource(input: string, options: FileSourceOptions = {}): Observable<Frame> {
  if (typeof input !== 'string' || input === '') throw new OptionError('input', 'a file path', input);
  if (options.sourceId !== undefined && (typeof options.sourceId !== 'string' || options.sourceId === '')) {
    throw new OptionError('sourceId', 'a non-empty string', options.sourceId);
  }
  const source = options.sourceId ?? path.basename(input);
  const { signal, flow, ffmpegPath, ffprobePath } = options;

  return new Observable<Frame>((subscriber) => {
    let closed = false;
    let proc: FfmpegProcess | undefined;
    let stopReader: (() => void) | undefined;

    const cleanup = (): void => {
      closed = true;
      stopReader?.();
      signal?.removeEventListener('abort', onAbort);
      void proc?.stop();
    };
    const fail = (err: unknown): void => {
      if (closed) return;
      cleanup();
      subscriber.error(err);
    };
    function onAbort(): void {
      fail(new AbortedError(`reading ${input} was aborted`));
    }

    if (signal?.aborted) {
      onAbort();
      return undefined;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const start = async (): Promise<void> => {
      const info = options.info ? (await checkInputFile(input), options.info) : await probeInput(input, { ffprobePath, signal });
      const version = await ffmpegVersion(ffmpegPath);
      const syncArgs = passthroughSyncArgs(version);
      if (closed) return;
      const { width, height, fps } = info;
      const url = fileInputUrl(input);
      const damage = new DamageCounter();
      const timestamps = { fd: 3, timeBaseArgs: demuxTimeBaseArgs(version) };
      const p = spawnFfmpeg(decodeRgbArgs({ input: url, width, height, syncArgs, timestamps }), {
        ffmpegPath,
        stdin: 'pipe', // kept open so stop() can send 'q'
        during: 'decoding',
        onStderrLine: (line) => damage.add(line),
        extraPipes: 1,
      });
      proc = p;
      const emitter = emitDecodedFrames(p, { source, width, height, fps, framePool: options.framePool, flow }, {
        next: (frame) => subscriber.next(frame),
        complete: (decoded) => {
          if (decoded === 0) return fail(noFrames(input));
          cleanup();
          options.onReport?.(damage.report(source, info.frameCount, decoded));
          subscriber.complete();
        },
        // ffmpeg gave up before producing a single frame although ffprobe found a video stream.
        fail: (err, decoded) => fail(decoded === 0 && err instanceof FfmpegError && err.stderrTail ? noFrames(input, err) : err),
        closed: () => closed,
      });
      stopReader = () => emitter.close();
    };
    start().catch(fail);

    return () => {
      if (!closed) cleanup();
    };
  });
}

/** The input has a video stream but ffmpeg decoded no picture from it. */
function noFrames(input: string, cause?: FfmpegError): InputError {
  return new InputError('E_NO_FRAMES', `no frames decoded from ${input}${cause ? `: ${lastLine(cause.stderrTail)}` : ''}`, {
    cause,
    hint: 'the file has a video stream but no decodable picture; it may be truncated or corrupt',
  });
}
