/**
 * Standard input as a source (`cat clip.ts | ssdpipe detect -`). A pipe cannot be read twice:
 * ffprobe and the decoder cannot both open it, and nothing can seek back in it. So the head is
 * read into memory first (probeStdin: 1 MiB, then more while ffprobe cannot tell the size yet,
 * up to STDIN_HEAD_MAX_BYTES), piped into ffprobe, and later written into the decoder's stdin
 * before the rest of the stream is piped after it (stdinSource). The stream is read to its end
 * like a file: every frame, with flow control.
 */
import type { Readable } from 'node:stream';
import { Observable } from 'rxjs';
import type { BufferPool } from '../buffer-pool.js';
import { AbortedError, FfmpegError, InputError, OptionError, lastLine } from '../errors.js';
import { ffmpegVersion, runFfprobe, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg/ffmpeg-process.js';
import type { Frame } from '../frame.js';
import { DamageCounter, emitDecodedFrames } from './decoded-frames.js';
import { decodeRgbArgs, demuxTimeBaseArgs, passthroughSyncArgs, probeArgs } from './ffmpeg-args.js';
import type { FlowControl } from './flow-control.js';
import { mediaInfoFromProbe, type MediaInfo } from './probe.js';
import type { SourceReport } from './source-report.js';

/** Frame.source of standard input's frames unless a name is given. */
export const STDIN_SOURCE_ID = 'stdin';

/** How much of the head the first probe gets; each retry gets twice as much. */
export const STDIN_PROBE_START_BYTES = 1 << 20;

/**
 * The most of the head kept in memory for probing (ffprobe's own probesize is 5 MB): a stream
 * whose video size is still unknown after this much is refused.
 */
export const STDIN_HEAD_MAX_BYTES = 8 << 20;

/** What ffmpeg and ffprobe open: their own standard input, fed by us. */
const PIPE_URL = 'pipe:0';

/** How standard input is named in messages. */
const STDIN_NAME = 'standard input';

const PIPE_HINT = 'pipe a format that can be streamed: MPEG-TS, Matroska/WebM, MJPEG, raw H.264 or fragmented MP4 (e.g. cat clip.ts | ssdpipe detect -)';

/** Options for probeStdin. */
export interface ProbeStdinOptions {
  /** The stream to read (default process.stdin); tests inject one. */
  stream?: Readable;
  ffprobePath?: string;
  signal?: AbortSignal;
  /** Override STDIN_PROBE_START_BYTES / STDIN_HEAD_MAX_BYTES (tests). */
  startBytes?: number;
  maxHeadBytes?: number;
}

/** Standard input after probing: what it holds, and the bytes already read, which the decoder gets first. */
export class ProbedStdin {
  private taken = false;
  private failure: Error | null = null;
  private readonly onError = (err: Error): void => void (this.failure = err);

  /** @param rest the unread remainder (paused), or null when the stream ended within the head */
  constructor(
    readonly info: MediaInfo,
    private readonly head: Buffer,
    private readonly rest: Readable | null,
  ) {
    // Until the decoder takes the stream over, an error must not go unhandled.
    rest?.on('error', this.onError);
  }

  /** Bytes read while probing. */
  get headBytes(): number {
    return this.head.length;
  }

  /** Hands the head and the rest over, once: a pipe cannot be read a second time. */
  take(): { head: Buffer; rest: Readable | null } {
    if (this.taken) {
      throw new InputError('E_INPUT_UNREADABLE', `${STDIN_NAME} was already read`, {
        hint: 'standard input can be decoded once; save it to a file to read it again',
      });
    }
    this.taken = true;
    this.rest?.off('error', this.onError);
    if (this.failure) throw stdinReadError(this.failure);
    return { head: this.head, rest: this.rest };
  }
}

/**
 * Reads the head of standard input and probes it with ffprobe (`-i pipe:0`, the head on its
 * stdin): 1 MiB first, and while ffprobe fails or finds no picture size, twice as much, up to
 * STDIN_HEAD_MAX_BYTES or the end of the stream. The stream is left paused after the head.
 * The frame count and duration are unknown (null): the head says nothing about the whole, and
 * a single picture on a pipe is not told apart from MJPEG, so isImage is false.
 * Errors: InputError E_INPUT_UNREADABLE for a terminal, an empty stream, an MP4 whose index is
 * at its end, or data ffprobe cannot read; AbortedError on abort.
 */
export async function probeStdin(options: ProbeStdinOptions = {}): Promise<ProbedStdin> {
  const stream = options.stream ?? process.stdin;
  const maxHead = options.maxHeadBytes ?? STDIN_HEAD_MAX_BYTES;
  if ((stream as { isTTY?: boolean }).isTTY) {
    throw new InputError('E_INPUT_UNREADABLE', `${STDIN_NAME} is a terminal, not a video`, { hint: PIPE_HINT });
  }
  const reader = new HeadReader(stream);
  try {
    let lastFailure: unknown;
    for (let target = Math.min(options.startBytes ?? STDIN_PROBE_START_BYTES, maxHead); ; target = Math.min(2 * target, maxHead)) {
      await reader.fill(target, options.signal);
      const head = reader.bytes();
      if (head.length === 0) {
        throw new InputError('E_INPUT_UNREADABLE', `${STDIN_NAME} is empty: nothing was piped in`, { hint: PIPE_HINT });
      }
      if (mp4IndexAtEnd(head)) throw mp4NotStreamable();
      try {
        const json = await runFfprobe(probeArgs(PIPE_URL), { ffprobePath: options.ffprobePath, signal: options.signal, input: head });
        const info = mediaInfoFromProbe(STDIN_NAME, JSON.parse(json) as Parameters<typeof mediaInfoFromProbe>[1]);
        // The audio cannot be read a second time from a pipe, so an annotated video stays silent
        // (audioCodec null: nothing to take along).
        const probed = { ...info, frameCount: null, durationMs: null, isImage: false, audioCodec: null } as MediaInfo;
        const { rest } = reader.detach();
        return new ProbedStdin(probed, head, rest);
      } catch (err) {
        // A failed spawn is ffprobe's problem, not the input's; so is an abort. Anything else may
        // be a head too short (some ffprobe builds even crash on a few KB of MPEG-TS): read more.
        if (err instanceof AbortedError || (err instanceof FfmpegError && /^could not start/.test(err.message))) throw err;
        lastFailure = err;
      }
      if (reader.ended || head.length >= maxHead) throw unreadable(head, reader.ended, lastFailure);
    }
  } catch (err) {
    reader.detach();
    throw err;
  }
}

/** Options for stdinSource. */
export interface StdinSourceOptions {
  /** Frame.source of every frame (default STDIN_SOURCE_ID). */
  sourceId?: string;
  /** Aborting stops ffmpeg and errors the Observable with AbortedError. */
  signal?: AbortSignal;
  /** Where frame buffers come from (see FileSourceOptions.framePool). */
  framePool?: BufferPool<Uint8Array>;
  /** Credit-based backpressure: while `flow.saturated` nothing is read from ffmpeg, and so from standard input. */
  flow?: FlowControl;
  ffmpegPath?: string;
  /** Called once when the stream has been read to its end (declared_frames is null). */
  onReport?: (report: SourceReport) => void;
}

/**
 * Decodes probed standard input to RGB24 frames, as fileSource does a file: ffmpeg reads
 * `pipe:0`, the head is written into it first, then the rest of the stream is piped after it.
 * Flow control reaches standard input through the pipes: while the pipeline is full nothing
 * reads ffmpeg's stdout, ffmpeg blocks and stops reading its stdin, and pipe() pauses ours.
 * Subscribable once (the stream is consumed). Unsubscribing stops ffmpeg with SIGTERM (a 'q'
 * on its stdin would land in the video data), then SIGKILL.
 * Errors: InputError E_NO_FRAMES / E_INPUT_UNREADABLE, FfmpegError, AbortedError on abort.
 */
export function stdinSource(probed: ProbedStdin, options: StdinSourceOptions = {}): Observable<Frame> {
  if (!(probed instanceof ProbedStdin)) throw new OptionError('probed', 'the result of probeStdin()', typeof probed);
  if (options.sourceId !== undefined && (typeof options.sourceId !== 'string' || options.sourceId === '')) {
    throw new OptionError('sourceId', 'a non-empty string', options.sourceId);
  }
  const source = options.sourceId ?? STDIN_SOURCE_ID;
  const { signal, flow, ffmpegPath } = options;
  const { width, height, fps } = probed.info;

  return new Observable<Frame>((subscriber) => {
    let closed = false;
    let proc: FfmpegProcess | undefined;
    let rest: Readable | null = null;
    let stopReader: (() => void) | undefined;

    const cleanup = (): void => {
      closed = true;
      stopReader?.();
      signal?.removeEventListener('abort', onAbort);
      rest?.off('error', onStdinError);
      if (proc) {
        rest?.unpipe(proc.stdin!);
        // With its stdin gone, stop() skips the 'q' and sends SIGTERM.
        proc.stdin!.destroy();
        void proc.stop();
      }
      rest?.pause();
    };
    const fail = (err: unknown): void => {
      if (closed) return;
      cleanup();
      subscriber.error(err);
    };
    function onAbort(): void {
      fail(new AbortedError(`reading ${STDIN_NAME} was aborted`));
    }
    function onStdinError(err: Error): void {
      fail(stdinReadError(err));
    }

    if (signal?.aborted) {
      onAbort();
      return undefined;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const start = async (): Promise<void> => {
      const taken = probed.take();
      rest = taken.rest;
      rest?.on('error', onStdinError);
      const version = await ffmpegVersion(ffmpegPath);
      if (closed) return;
      const damage = new DamageCounter();
      const timestamps = { fd: 3, timeBaseArgs: demuxTimeBaseArgs(version) };
      const p = spawnFfmpeg(decodeRgbArgs({ input: PIPE_URL, width, height, syncArgs: passthroughSyncArgs(version), timestamps }), {
        ffmpegPath,
        stdin: 'pipe',
        during: 'decoding',
        onStderrLine: (line) => damage.add(line),
        extraPipes: 1,
      });
      proc = p;
      const input = p.stdin!;
      input.write(taken.head);
      if (rest) rest.pipe(input);
      else input.end();

      const emitter = emitDecodedFrames(p, { source, width, height, fps, framePool: options.framePool, flow }, {
        next: (frame) => subscriber.next(frame),
        complete: (decoded) => {
          if (decoded === 0) return fail(noFrames());
          cleanup();
          options.onReport?.(damage.report(source, null, decoded));
          subscriber.complete();
        },
        fail: (err, decoded) => fail(decoded === 0 && err instanceof FfmpegError && err.stderrTail ? noFrames(err) : err),
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

/**
 * Whether an ISO BMFF (MP4, MOV) head has its index after the media: walks the top-level boxes
 * and answers true when 'mdat' comes before 'moov', false when 'moov' or 'moof' (a fragmented
 * MP4) comes first, null when the head is not ISO BMFF or ends before either. Such a file can
 * only be read by seeking back to the media once the index at its end is known: not on a pipe.
 */
export function mp4IndexAtEnd(head: Uint8Array): boolean | null {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const typeAt = (at: number): string => bytes.toString('latin1', at + 4, at + 8);
  if (bytes.length < 8 || !/^(ftyp|styp|moov|moof|mdat|free|wide|skip)$/.test(typeAt(0))) return null;
  for (let at = 0; at + 8 <= bytes.length; ) {
    const type = typeAt(at);
    if (type === 'moov' || type === 'moof') return false;
    if (type === 'mdat') return true;
    if (!/^[\x20-\x7e]{4}$/.test(type)) return null;
    let size = bytes.readUInt32BE(at);
    if (size === 1) {
      if (at + 16 > bytes.length) return null;
      size = Number(bytes.readBigUInt64BE(at + 8));
    }
    // 0: the box runs to the end of the file; below 8: not a box.
    if (size < 8) return null;
    at += size;
  }
  return null;
}

/**
 * The head of a stream, read on demand: fill(n) lets it flow until n bytes (or the end) are in,
 * then pauses it. Listens to the stream until detach().
 */
class HeadReader {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private failure: Error | null = null;
  private waiting: { target: number; done: (err?: Error) => void } | null = null;
  /** The stream ended within the head. */
  ended = false;

  constructor(private readonly stream: Readable) {
    stream.on('data', this.onData);
    stream.once('end', this.onEnd);
    stream.on('error', this.onError);
  }

  fill(target: number, signal?: AbortSignal): Promise<void> {
    if (this.failure) return Promise.reject(stdinReadError(this.failure));
    if (this.ended || this.length >= target) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new AbortedError(`reading ${STDIN_NAME} was aborted`));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => this.settle(new AbortedError(`reading ${STDIN_NAME} was aborted`));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting = {
        target,
        done: (err) => {
          signal?.removeEventListener('abort', onAbort);
          this.stream.pause();
          if (err) reject(err);
          else resolve();
        },
      };
      this.stream.resume();
    });
  }

  bytes(): Buffer {
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks));
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Stops listening; the stream stays paused. `rest` is null when it has ended. */
  detach(): { rest: Readable | null } {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.pause();
    return { rest: this.ended ? null : this.stream };
  }

  private settle(err?: Error): void {
    const w = this.waiting;
    this.waiting = null;
    w?.done(err);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(data);
    this.length += data.length;
    if (this.waiting && this.length >= this.waiting.target) this.settle();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.settle();
  };

  private readonly onError = (err: Error): void => {
    this.failure = err;
    this.settle(stdinReadError(err));
  };
}

function stdinReadError(cause: Error): InputError {
  return new InputError('E_INPUT_UNREADABLE', `reading ${STDIN_NAME} failed: ${cause.message}`, {
    cause,
    hint: 'check the command that writes into the pipe',
  });
}

function mp4NotStreamable(): InputError {
  return new InputError('E_INPUT_UNREADABLE', `${STDIN_NAME} is an MP4 with its index (moov atom) at the end: it cannot be read from a pipe`, {
    hint: 'save it to a file and give its path, or remux it so it streams: ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4 (or out.ts)',
  });
}

/** ffprobe could not read the head, or found no picture size in it. */
function unreadable(head: Buffer, ended: boolean, failure: unknown): InputError {
  const reason = failure instanceof FfmpegError
    ? lastLine(failure.stderrTail).replace(`${PIPE_URL}: `, '') || failure.message
    : failure instanceof Error ? failure.message : 'unknown';
  const read = ended ? `all ${head.length} bytes` : `the first ${head.length} bytes`;
  return new InputError('E_INPUT_UNREADABLE', `input unreadable: ${STDIN_NAME} (${read}): ${reason}`, {
    cause: failure,
    hint: mp4IndexAtEnd(head) === null && /^(ftyp|moov)$/.test(head.toString('latin1', 4, 8))
      ? 'an MP4 can be read from a pipe only with its index first: remux it with -movflags +faststart or to .ts, or save it to a file'
      : PIPE_HINT,
  });
}

/** The stream has a video stream but ffmpeg decoded no picture from it. */
function noFrames(cause?: FfmpegError): InputError {
  return new InputError('E_NO_FRAMES', `no frames decoded from ${STDIN_NAME}${cause ? `: ${lastLine(cause.stderrTail)}` : ''}`, {
    cause,
    hint: 'the stream has a video stream but no decodable picture; it may be cut short, or not a format that can be streamed',
  });
}
