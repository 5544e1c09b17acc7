/**
 * What a decoder's output needs on its way to frames, shared by the sources that decode a whole
 * input with flow control (fileSource, stdinSource): the timestamp each frame waits for, and the
 * sorting of ffmpeg's error lines into a cut and damage for the source's report.
 */
import type { BufferPool } from '../buffer-pool.js';
import type { FfmpegProcess } from '../ffmpeg/ffmpeg-process.js';
import type { Frame } from '../frame.js';
import type { FlowControl } from './flow-control.js';
import { readRawFrames } from './frame-reader.js';
import { readFrameTimestamps, type TimestampQueue } from './frame-timestamps.js';
import type { SourceReport } from './source-report.js';

/**
 * Sorts ffmpeg's error lines while decoding (loglevel error: each line is a problem). The
 * demuxer's 'partial file' means the file ends early; the packet the cut went through then fails
 * to decode (or gives a half-drawn frame) and, decoding being threaded, its errors come just
 * before or after that line: the errors after it, and up to CUT_PACKET_ERRORS lines just before
 * it, belong to the cut. Any other error is damage the decoder skipped or concealed.
 */
export class DamageCounter {
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
export class TimedFrames {
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

/** What emitDecodedFrames needs to make frames of a decoder's output. */
export interface DecodedFramesOptions {
  readonly source: string;
  readonly width: number;
  readonly height: number;
  /** The stream's average rate: the fallback for a frame whose timestamp never comes. */
  readonly fps: number;
  readonly framePool?: BufferPool<Uint8Array>;
  readonly flow?: FlowControl;
}

/** Where emitDecodedFrames hands its frames and its end. */
export interface DecodedFramesHandlers {
  next(frame: Frame): void;
  /** Every frame is out and the decoder exited cleanly, after `decoded` frames. */
  complete(decoded: number): void;
  /** The decoder failed after `decoded` frames. */
  fail(err: unknown, decoded: number): void;
  /** True once the subscriber is gone: nothing more is emitted. */
  closed(): boolean;
}

/**
 * Turns a running decoder (rgb24 frames on stdout, their timestamps on its first extra pipe) into
 * frames: each cut frame waits for its timestamp, then goes out in order; the input is done once
 * both streams ended and ffmpeg exited. Shared by the sources that decode a whole input with flow
 * control (fileSource, stdinSource). close() stops reading.
 */
export function emitDecodedFrames(p: FfmpegProcess, o: DecodedFramesOptions, h: DecodedFramesHandlers): { close(): void } {
  const { source, width, height } = o;
  const frames = new TimedFrames(o.fps, (seq, data, ptsMs, decodeMs) => {
    h.next({ source, seq, ptsMs, width, height, data, decodeMs });
  });
  const stamps = readFrameTimestamps(p.pipes[0], () => release());
  let readerDone = false;
  const release = (): void => {
    if (h.closed()) return;
    frames.release(stamps);
    if (readerDone && frames.held === 0 && stamps.ended) h.complete(reader.decoded);
  };
  const reader = readRawFrames(
    p.stdout,
    { width, height, framePool: o.framePool, flow: o.flow },
    (data) => {
      frames.hold(data);
      release();
    },
    () => {
      readerDone = true;
      release();
    },
  );
  p.done.then(
    () => reader.producerDone(),
    (err: unknown) => h.fail(err, reader.decoded),
  );
  return { close: () => reader.close() };
}
