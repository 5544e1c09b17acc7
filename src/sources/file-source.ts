import path from 'node:path';
import { Observable } from 'rxjs';
import type { BufferPool } from '../buffer-pool.js';
import { AbortedError, FfmpegError, InputError, OptionError, lastLine } from '../errors.js';
import { rgbFrameBytes, type Frame } from '../frame.js';
import { decodeRgbArgs, fileInputUrl, passthroughSyncArgs } from './ffmpeg-args.js';
import { ffmpegVersion, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg/ffmpeg-process.js';
import type { FlowControl } from './flow-control.js';
import { FrameCutter } from './frame-cutter.js';
import { checkInputFile, probeInput, type MediaInfo } from './probe.js';

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
}

/**
 * Decodes a local video or image file to RGB24 frames. Each subscription probes the file
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
    let offDrain: (() => void) | undefined;

    const cleanup = (): void => {
      closed = true;
      offDrain?.();
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
      let info = options.info;
      if (info) await checkInputFile(input);
      else info = await probeInput(input, { ffprobePath, signal });
      const syncArgs = passthroughSyncArgs(await ffmpegVersion(ffmpegPath));
      if (closed) return;

      const { width, height, fps } = info;
      const p = spawnFfmpeg(decodeRgbArgs({ input: fileInputUrl(input), width, height, syncArgs }), {
        ffmpegPath,
        stdin: 'pipe', // kept open so stop() can send 'q'
      });
      proc = p;
      const cutter = new FrameCutter(rgbFrameBytes(width, height), options.framePool && ((n) => options.framePool!.take(n)));
      const queue: Uint8Array[] = []; // cut but not yet emitted (held while saturated)
      let decoded = 0;
      let seq = 0;
      let stdoutEnded = false;
      let exitedOk = false;
      let pumping = false;

      const finish = (): void => {
        // A partial frame left in the cutter (cutter.remainder > 0) is a truncated last frame: dropped.
        if (decoded === 0) {
          fail(new InputError('E_NO_FRAMES', `no frames decoded from ${input}`, {
            hint: 'the file has a video stream but no decodable picture; it may be truncated or corrupt',
          }));
          return;
        }
        cleanup();
        subscriber.complete();
      };

      const pump = (): void => {
        // Re-entrant calls (a synchronous release inside next() firing onDrain) are folded into
        // the running loop, which re-checks `saturated` on every frame.
        if (pumping || closed) return;
        pumping = true;
        try {
          while (queue.length > 0 && !closed && !flow?.saturated) {
            const data = queue.shift()!;
            const frameSeq = seq++;
            flow?.emitted();
            // ptsMs from seq / fps (avg_frame_rate): exact for constant-rate input, approximate for
            // variable-rate input. Real pts would need showinfo parsing or framemd5; not worth it here.
            subscriber.next({ source, seq: frameSeq, ptsMs: Math.round((frameSeq * 1e6) / fps) / 1e3, width, height, data });
          }
        } finally {
          pumping = false;
        }
        if (closed) return;
        // Not reading stdout fills the pipe and blocks ffmpeg in write(): that is the backpressure.
        if (queue.length > 0 || flow?.saturated) p.stdout.pause();
        else p.stdout.resume();
        if (stdoutEnded && exitedOk && queue.length === 0) finish();
      };

      if (flow) offDrain = flow.onDrain(pump);
      p.stdout.on('data', (chunk: Buffer) => {
        if (closed) return;
        const frames = cutter.push(chunk);
        decoded += frames.length;
        queue.push(...frames);
        pump();
      });
      p.stdout.once('end', () => {
        stdoutEnded = true;
        pump();
      });
      p.done.then(
        () => {
          exitedOk = true;
          pump();
        },
        (err: unknown) => {
          if (decoded === 0 && err instanceof FfmpegError && err.stderrTail) {
            // ffmpeg gave up before producing a single frame although ffprobe found a video stream.
            fail(new InputError('E_NO_FRAMES', `no frames decoded from ${input}: ${lastLine(err.stderrTail)}`, {
              cause: err,
              hint: 'the file has a video stream but no decodable picture; it may be truncated or corrupt',
            }));
          } else fail(err);
        },
      );
    };
    start().catch(fail);

    return () => {
      if (!closed) cleanup();
    };
  });
}
