import path from 'node:path';
import { Observable } from 'rxjs';
import type { BufferPool } from '../buffer-pool.js';
import { AbortedError, FfmpegError, InputError, OptionError, lastLine } from '../errors.js';
import type { Frame } from '../frame.js';
import { decodeRgbArgs, demuxTimeBaseArgs, fileInputUrl, passthroughSyncArgs } from './ffmpeg-args.js';
import { ffmpegVersion, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg/ffmpeg-process.js';
import type { FlowControl } from './flow-control.js';
import { readRawFrames } from './frame-reader.js';
import { readFrameTimestamps, type TimestampQueue } from './frame-timestamps.js';
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
      const frames = new TimedFrames(fps, (seq, data, ptsMs, decodeMs) => {
        subscriber.next({ source, seq, ptsMs, width, height, data, decodeMs });
      });
      const stamps = readFrameTimestamps(p.pipes[0], () => release());
      // Frames wait here for their timestamps; the input is done once both streams ended.
      let readerDone = false;
      const release = (): void => {
        if (closed) return;
        frames.release(stamps);
        if (readerDone && frames.held === 0 && stamps.ended) complete();
      };
      const complete = (): void => {
        if (reader.decoded === 0) return fail(noFrames(input));
        cleanup();
        options.onReport?.(damage.report(source, info.frameCount, reader.decoded));
        subscriber.complete();
      };
      const reader = readRawFrames(p.stdout, { width, height, framePool: options.framePool, flow }, (data) => {
        frames.hold(data);
        release();
      }, () => {
        readerDone = true;
        release();
      });
      stopReader = () => reader.close();
      p.done.then(
        () => reader.producerDone(),
        // ffmpeg gave up before producing a single frame although ffprobe found a video stream.
        (err: unknown) => fail(reader.decoded === 0 && err instanceof FfmpegError && err.stderrTail ? noFrames(input, err) : err),
      );
    };
    start().catch(fail);

    return () => {
      if (!closed) cleanup();
    };
  });
}

/**
 * Sorts ffmpeg's error lines while decoding (loglevel error: each line is a problem). The
 * demuxer's 'partial file' means the file ends early; the packet the cut went through then fails
 * to decode (or gives a half-drawn frame) and, decoding being threaded, its errors come just
 * before or after that line: the errors after it, and up to CUT_PACKET_ERRORS lines just before
 * it, belong to the cut. Any other error is damage the decoder skipped or concealed.
 */
class DamageCounter {
  private cut = false;
  private readonly errors: string[] = [];

  add(line: string): void {
    if (this.cut) return;
    if (/partial file/.test(line)) {
      this.cut = true;
      this.errors.splice(Math.max(0, this.errors.length - CUT_PACKET_ERRORS));
      return;
    }
    this.errors.push(line.replace(/^\[[\w,]+ @ 0x[0-9a-f]+\] /, '').trim());
  }

  report(source: string, declared: number | null, decoded: number): SourceReport {
    const missing = declared === null ? 0 : declared - decoded;
    return {
      source,
      declared_frames: declared,
      decoded_frames: decoded,
      truncated: this.cut || missing > Math.max(EDIT_LIST_SLACK, (declared ?? 0) / 50),
      decode_errors: this.errors.length,
      first_error: this.errors[0] ?? null,
    };
  }
}

/**
 * Decoded frames held until their container timestamp arrives on the timestamp pipe (it comes
 * right after the frame: ffmpeg writes the frame, then its framecrc line). Should the pipe end
 * without one, the frame is placed 1/fps after the one before.
 */
class TimedFrames {
  private readonly queue: { data: Uint8Array; decodeMs: number }[] = [];
  private last = performance.now();
  private lastPtsMs: number | null = null;
  /** Frames handed out so far (the next one's seq). */
  emitted = 0;

  constructor(
    private readonly fps: number,
    private readonly emit: (seq: number, data: Uint8Array, ptsMs: number, decodeMs: number) => void,
  ) {}

  get held(): number {
    return this.queue.length;
  }

  hold(data: Uint8Array): void {
    const now = performance.now();
    this.queue.push({ data, decodeMs: now - this.last });
    this.last = now;
  }

  release(stamps: TimestampQueue): void {
    while (this.queue.length > 0 && (stamps.available > 0 || stamps.ended)) {
      const { data, decodeMs } = this.queue.shift()!;
      const ptsMs = stamps.shift() ?? (this.lastPtsMs === null ? 0 : Math.round((this.lastPtsMs + 1000 / this.fps) * 1e3) / 1e3);
      this.lastPtsMs = ptsMs;
      this.emit(this.emitted++, data, ptsMs, decodeMs);
    }
  }
}

/**
 * Frames an MP4 may declare but not show: an edit list can mark the last B-frames' packets as
 * discarded (x264 with a variable rate writes 30 and shows 28). Fewer frames than declared by
 * more than this, or 2 %, means the file was cut.
 */
const EDIT_LIST_SLACK = 4;

/** How many error lines the one packet a cut goes through may print before 'partial file' (h264: 2). */
const CUT_PACKET_ERRORS = 3;

/** The input has a video stream but ffmpeg decoded no picture from it. */
function noFrames(input: string, cause?: FfmpegError): InputError {
  return new InputError('E_NO_FRAMES', `no frames decoded from ${input}${cause ? `: ${lastLine(cause.stderrTail)}` : ''}`, {
    cause,
    hint: 'the file has a video stream but no decodable picture; it may be truncated or corrupt',
  });
}
