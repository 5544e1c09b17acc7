import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { drawDetections, resolveDrawStyle, type DrawStyle, type ResolvedDrawStyle } from '../annotate/draw-detections.js';
import { TrackTrails, type TrackTrailsOptions } from '../annotate/track-trails.js';
import { bytePool } from '../buffer-pool.js';
import type { FrameDetections } from '../detection.js';
import { AbortedError, FfmpegError, OptionError, OutputError, SsdpipeError } from '../errors.js';
import { resolveFfmpegTool } from '../ffmpeg/ffmpeg-path.js';
import { spawnFfmpeg } from '../ffmpeg/ffmpeg-process.js';
import { checkOutputPath, createOutputDirs, errnoText, type OutputFormat, type OutputTarget } from '../files/output-paths.js';
import type { Sink } from './sink.js';

/** x264 quality when none is given (lower is better; 18 is visually lossless, 23 is x264's default). */
export const DEFAULT_CRF = 23;
/** x264 speed preset when none is given: fast enough to keep up with detection on 2 cores. */
export const DEFAULT_PRESET = 'veryfast';

const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'];
/** After an abort, how long ffmpeg may take to flush its queue before it is signalled. */
const ABORT_FLUSH_MS = 10_000;

/** Options of the annotated-video sink. */
export interface AnnotatedVideoOptions {
  /**
   * Target file; its directory is created if missing. The extension picks the format: .mp4/.m4v
   * (MP4), .mov (QuickTime), or .jpg/.jpeg/.png: one annotated picture, for a still image input.
   */
  path: string;
  /**
   * The input is a still image (true) or a video (false): a .jpg/.png target is refused for a
   * video when the sink opens. Unknown (undefined): such a target fails at the second frame.
   */
  stillImage?: boolean;
  /** Size of the frames that will be written, in pixels. */
  width: number;
  height: number;
  /** Frame rate of the output, frames per second. */
  fps: number;
  /** ffmpeg executable (default: resolveFfmpeg's search: $FFMPEG_PATH, bundled packages, PATH). */
  ffmpegPath?: string;
  /** x264 constant rate factor, 0..51 (default DEFAULT_CRF). */
  crf?: number;
  /** x264 preset name (default DEFAULT_PRESET). */
  preset?: string;
  /** Aborting stops accepting frames and finalizes what was written into a playable file. */
  signal?: AbortSignal;
  /** How boxes and labels are drawn. */
  style?: DrawStyle;
  /** How long the trails of tracked detections are and how long they outlive their track; false draws none. */
  trails?: TrackTrailsOptions | false;
  /**
   * A file whose first audio stream goes into the video (mp4/mov only; see encoderArgs), e.g.
   * the input the frames come from. Default: none, the video is silent.
   */
  audioFrom?: string;
}

/** The options checked once, with every default filled in. */
interface VideoSettings {
  /** The path as the caller gave it, for messages. */
  readonly shownPath: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly crf: number;
  readonly preset: string;
  readonly style: ResolvedDrawStyle;
  /** This sink's trails (state: one per sink), or null when trails are off. */
  readonly trails: TrackTrails | null;
  /** What the file holds (from its extension): a video (mp4, mov) or one picture (jpg, png). */
  readonly format: OutputFormat;
  /** The file whose first audio stream is added, or null for a silent video. */
  readonly audioFrom: string | null;
}

/**
 * Where the video goes: `partial` while encoding, renamed over `target` when complete. A target
 * that is not a regular file (/dev/null, a FIFO) is written in place: `partial` is the target.
 */
interface OutputFiles {
  readonly target: string;
  readonly partial: string;
  readonly inPlace: boolean;
}

let partialCounter = 0;

/**
 * Opens a sink that draws each frame's detections and encodes the frames to an H.264
 * (yuv420p) MP4 with ffmpeg. Frames go to ffmpeg's stdin as raw RGB24; `write` resolves once
 * ffmpeg's pipe has taken the frame (it waits for 'drain', so a slow encoder slows the run).
 * Tracked detections are drawn with their id, in their track's colour, over a short trail
 * (see drawDetections and TrackTrails).
 *
 * ffmpeg writes a temporary file next to the target that `close` renames over it, so an existing
 * file is replaced only by a complete video and never left half-written. yuv420p needs even
 * dimensions: an odd width or height is padded by one black column or row, so the video is
 * `evenSize(width) x evenSize(height)`. If no frame was written, `close` removes the temporary
 * file and leaves the target as it was. `close` is safe to call at any time, also after an abort.
 */
export async function openAnnotatedVideo(options: AnnotatedVideoOptions): Promise<Sink> {
  const output = checkOutputPath('video', options.path, { stillImage: options.stillImage });
  const settings = resolveVideoOptions(options, output.format);
  if (options.signal?.aborted) throw new AbortedError();
  const ffmpegPath = resolveFfmpegTool('ffmpeg', options.ffmpegPath).path; // throws E_FFMPEG_NOT_FOUND before any file is made
  const files = await prepareOutput(output);
  const encoder = startEncoder(ffmpegPath, encoderArgs(settings, files), settings);
  return videoSink(settings, files, encoder, options.signal);
}

/** Checks the options (throws OptionError) and fills in the defaults. */
function resolveVideoOptions(options: AnnotatedVideoOptions, format: OutputFormat): VideoSettings {
  const { width, height, fps } = options;
  const crf = options.crf ?? DEFAULT_CRF;
  const preset = options.preset ?? DEFAULT_PRESET;
  if (!Number.isInteger(width) || width < 1) throw new OptionError('width', 'a whole number of pixels >= 1', width);
  if (!Number.isInteger(height) || height < 1) throw new OptionError('height', 'a whole number of pixels >= 1', height);
  if (!(Number.isFinite(fps) && fps > 0)) throw new OptionError('fps', 'a frame rate > 0', fps);
  if (!(Number.isFinite(crf) && crf >= 0 && crf <= 51)) throw new OptionError('crf', 'a number from 0 to 51', crf);
  if (!X264_PRESETS.includes(preset)) throw new OptionError('preset', `one of ${X264_PRESETS.join(', ')}`, preset);
  const style = resolveDrawStyle(width, height, options.style);
  const trails = options.trails === false ? null : new TrackTrails(options.trails);
  if (options.audioFrom !== undefined && !(typeof options.audioFrom === 'string' && options.audioFrom !== '')) {
    throw new OptionError('audioFrom', 'a file path', options.audioFrom);
  }
  const audioFrom = isPicture(format) ? null : (options.audioFrom ?? null);
  return { shownPath: options.path, width, height, fps, crf, preset, style, trails, format, audioFrom };
}

/**
 * With a second input, ffmpeg reads each input on its own thread through a queue of this many
 * packets (default 8): for raw frames that is 8 frames, 200 MB at 4K. The frames wait in our
 * pipe instead (backpressure), which costs nothing.
 */
const FRAME_QUEUE = 2;

/**
 * ffmpeg's arguments: raw RGB24 frames on stdin, written into `partial` as the format says:
 * padded to even size, x264 yuv420p in MP4/MOV; or one picture, JPEG (full-range 4:4:4, so thin
 * coloured boxes stay sharp) or PNG (RGB).
 *
 * Audio (`audioFrom`): that file's first audio stream, if it has one (`1:a:0?`), encoded to AAC
 * and padded with silence (apad), with `-shortest`: the file ends with the last frame written,
 * also when a run is stopped early. It is not stream-copied even when the codec would fit MP4:
 * a copied track cannot be padded, and an audio track a little shorter than the video (common)
 * would then end the file early, cutting off annotated frames.
 */
function encoderArgs(s: VideoSettings, files: OutputFiles): string[] {
  const { partial } = files;
  const frames = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${s.width}x${s.height}`, '-framerate', String(s.fps)];
  const quiet = ['-hide_banner', '-nostats', '-loglevel', 'error'];
  if (s.format === 'jpg' || s.format === 'png') {
    const input = [...quiet, ...frames, '-i', 'pipe:0', '-an'];
    if (s.format === 'jpg') return [...input, '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', 'yuvj444p', '-f', 'image2', '-update', '1', '-y', partial];
    return [...input, '-frames:v', '1', '-c:v', 'png', '-pix_fmt', 'rgb24', '-f', 'image2', '-update', '1', '-y', partial];
  }
  const input = s.audioFrom === null
    ? [...quiet, ...frames, '-i', 'pipe:0', '-an']
    : [
        ...quiet, '-thread_queue_size', String(FRAME_QUEUE), ...frames, '-i', 'pipe:0',
        '-i', `file:${s.audioFrom}`, // file: so a name with a colon or a leading dash stays a path
        '-map', '0:v:0', '-map', '1:a:0?', '-c:a', 'aac', '-af', 'apad', '-shortest',
      ];
  const outW = evenSize(s.width);
  const outH = evenSize(s.height);
  return [
    ...input,
    ...(outW !== s.width || outH !== s.height ? ['-vf', `pad=${outW}:${outH}:0:0:black`] : []),
    '-c:v', 'libx264', '-preset', s.preset, '-crf', String(s.crf), '-pix_fmt', 'yuv420p',
    // A device or FIFO cannot be rewound to move the index to the front: fragmented MP4 instead.
    '-movflags', files.inPlace ? 'frag_keyframe+empty_moov' : '+faststart', '-f', s.format === 'mov' ? 'mov' : 'mp4', '-y', partial,
  ];
}

/** A picture format holds one frame. */
function isPicture(format: OutputFormat): boolean {
  return format === 'jpg' || format === 'png';
}

/**
 * The Sink over a started encoder: writes go to the frame writer until close or abort; close
 * (once, whoever calls it first, the abort included) finalizes the file.
 */
function videoSink(settings: VideoSettings, files: OutputFiles, encoder: Encoder, signal: AbortSignal | undefined): Sink {
  const name = `annotated-video ${settings.shownPath}`;
  const writer = frameWriter(settings, encoder, name, signal);
  let closing: Promise<void> | null = null;
  let aborted = false;

  const close = (): Promise<void> => {
    if (closing) return closing;
    signal?.removeEventListener('abort', onAbort);
    return (closing = finalizeVideo(encoder, files, settings.shownPath, writer.frames, aborted));
  };
  function onAbort(): void {
    aborted = true;
    // Nobody may be awaiting this close yet; the caller's own close() returns the same promise
    // and sees its result, so the no-op handler only prevents an unhandled rejection.
    close().catch(() => undefined);
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort(); // aborted while ffmpeg was starting

  return {
    name,
    async write(item) {
      if (aborted) throw new AbortedError();
      if (closing) throw new OutputError(`${name}: write after close`, { hint: 'this looks like a bug in ssdpipe; please report it' });
      await writer.write(item);
    },
    close,
  };
}

/** Draws frames and hands them to the encoder, counting them. */
interface FrameWriter {
  /** Frames handed to the encoder so far. */
  readonly frames: number;
  write(item: FrameDetections): Promise<void>;
}

/**
 * Checks each frame's size, records its tracked detections in the trails, draws it into a
 * reused copy and writes that to ffmpeg's stdin, waiting for 'drain' when the pipe is full.
 */
function frameWriter(settings: VideoSettings, encoder: Encoder, name: string, signal: AbortSignal | undefined): FrameWriter {
  const { width, height, style, trails } = settings;
  const copies = bytePool(4);
  let frames = 0;
  return {
    get frames() {
      return frames;
    },
    async write(item) {
      if (encoder.failure) throw encoder.failure;
      const { frame } = item;
      if (frame.width !== width || frame.height !== height) {
        throw new OutputError(`${name}: frame ${frame.seq} of ${frame.source} is ${frame.width}x${frame.height}, but the video was opened for ${width}x${height}`, {
          hint: 'write frames of one size to each annotated video',
        });
      }
      if (frames >= 1 && isPicture(settings.format)) {
        throw new OptionError('--video', 'a .mp4, .m4v or .mov file for a video input', settings.shownPath, 'a .jpg or .png output holds one annotated picture: use it with a still image input');
      }
      trails?.update(frame, item.detections);
      const rgb = drawDetections(frame, item.detections, style, copies.take(frame.data.length), trails ?? undefined); // [height, width, 3] RGB24
      frames++;
      // The copy is reused once the pipe has taken all of it (the write callback).
      const written = encoder.stdin.write(rgb, (err) => {
        if (!err) copies.give(rgb);
      });
      if (!written) await encoder.drained(signal);
    },
  };
}

/**
 * Ends ffmpeg's input and waits for it to write the file, then renames the temporary file over
 * the target, or removes it when ffmpeg failed or no frame was written. After an abort, ffmpeg
 * gets ABORT_FLUSH_MS to flush x264's queue before it is stopped: nobody should wait long.
 */
async function finalizeVideo(encoder: Encoder, files: OutputFiles, shownPath: string, frames: number, aborted: boolean): Promise<void> {
  if (!encoder.stdin.writableEnded) encoder.stdin.end();
  const watchdog = aborted ? setTimeout(() => encoder.stop(), ABORT_FLUSH_MS) : null;
  try {
    await encoder.exited;
  } catch (err) {
    await discard(files);
    throw err;
  } finally {
    if (watchdog) clearTimeout(watchdog);
  }
  if (frames === 0 || files.inPlace) {
    if (frames === 0) await discard(files);
    return;
  }
  try {
    await rename(files.partial, files.target);
  } catch (cause) {
    await discard(files);
    throw new OutputError(`cannot write video to ${shownPath}: ${errnoText(cause)}`, {
      cause,
      hint: 'check that the target is a writable file path, not a directory',
    });
  }
}

/** Removes the temporary file; a target written in place (a device, a FIFO) is left alone. */
async function discard(files: OutputFiles): Promise<void> {
  if (!files.inPlace) await rm(files.partial, { force: true });
}

/** Width or height rounded up to even, as yuv420p needs; the size of the encoded video. */
export function evenSize(n: number): number {
  return n + (n % 2);
}

/**
 * Names the temporary file next to the target (same extension) and creates it (and the
 * folders), so an unwritable place fails before ffmpeg starts.
 */
async function prepareOutput(output: OutputTarget): Promise<OutputFiles> {
  const target = output.path;
  if (output.inPlace) return { target, partial: target, inPlace: true };
  const partial = `${target}.partial-${process.pid}-${partialCounter++}${path.extname(target)}`;
  await createOutputDirs(output);
  try {
    await writeFile(partial, ''); // 'w': a stale partial file of a crashed run with the same pid is ours to reuse
  } catch (cause) {
    throw new OutputError(`cannot write video to ${output.shownPath}: ${errnoText(cause)}`, {
      cause,
      hint: 'check that the directory exists and is writable and that the target is a file path',
    });
  }
  return { target, partial, inPlace: false };
}

/**
 * The encoder as the sink sees it: an ffmpeg from spawnFfmpeg that reads frames on stdin and
 * is finished by ending stdin (not by stop(): 'q' would land in the raw video data).
 */
interface Encoder {
  readonly stdin: Writable;
  /** Resolves when ffmpeg exits 0 after its input ended; rejects with FfmpegError (stderr tail) otherwise. */
  readonly exited: Promise<void>;
  /** Set once ffmpeg has failed; later writes throw it. */
  readonly failure: SsdpipeError | null;
  /** Resolves when stdin can take more, or when the signal aborts; rejects if ffmpeg fails first. */
  drained(signal?: AbortSignal): Promise<void>;
  /** Last resort after an abort: SIGTERM, then SIGKILL; `exited` then rejects. */
  stop(): void;
}

/** How ffmpeg's stderr names a failed write (its strerror text), and the errno it means. */
const WRITE_ERRORS: readonly (readonly [RegExp, string])[] = [
  [/No space left on device/i, 'ENOSPC'],
  [/Disk quota exceeded/i, 'EDQUOT'],
  [/File too large/i, 'EFBIG'],
  [/Read-only file system/i, 'EROFS'],
  [/Input\/output error/i, 'EIO'],
];

/**
 * An encoder that failed because its output could not be written (a full disk ...) is an
 * OutputError naming the cause; any other failure stays what it is.
 */
function encoderFailure(err: SsdpipeError, shownPath: string): SsdpipeError {
  if (!(err instanceof FfmpegError)) return err;
  const code = WRITE_ERRORS.find(([re]) => re.test(err.stderrTail))?.[1];
  if (!code) return err;
  return new OutputError(`writing --video ${shownPath} failed: ${errnoText({ code })}`, {
    cause: err,
    hint: 'free some space or write elsewhere; an existing file at that path is kept as it was',
  });
}

function startEncoder(ffmpegPath: string, args: readonly string[], settings: VideoSettings): Encoder {
  const proc = spawnFfmpeg(args, { ffmpegPath, stdin: 'pipe', during: 'encoding' });
  proc.stdout.resume(); // the video goes to a file; nothing useful arrives here
  const stdin = proc.stdin!; // spawned with stdin 'pipe'

  let failure: SsdpipeError | null = null;
  let stopped = false;
  let gone = false;
  // Writers waiting for 'drain' are woken when ffmpeg exits, too (it will never drain then).
  const exitWaiters = new Set<() => void>();
  const exited = proc.done
    .then(
      () => {
        if (stopped) failure = new FfmpegError('ffmpeg (encoding video) did not finish in time after the abort and was stopped', proc.stderrTail());
        // A picture's encoder stops by itself after its one frame.
        else if (!stdin.writableEnded && !isPicture(settings.format)) failure = new FfmpegError('ffmpeg (encoding video) exited before its input ended', proc.stderrTail());
      },
      (err: unknown) => {
        const e = err instanceof SsdpipeError ? err : new FfmpegError('ffmpeg (encoding video) failed', proc.stderrTail(), { cause: err });
        failure = encoderFailure(e, settings.shownPath);
      },
    )
    .then(() => {
      gone = true;
      for (const wake of [...exitWaiters]) wake();
      if (failure) throw failure;
    });
  // Rejections reach callers through write() and close(); this only prevents an unhandled rejection.
  exited.catch(() => undefined);

  return {
    stdin,
    exited,
    get failure() {
      return failure;
    },
    drained(signal) {
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          stdin.off('drain', done);
          signal?.removeEventListener('abort', done);
          exitWaiters.delete(done);
          if (failure) reject(failure);
          else resolve();
        };
        if (gone) return done();
        stdin.on('drain', done);
        signal?.addEventListener('abort', done, { once: true });
        exitWaiters.add(done);
      });
    },
    stop() {
      stopped = true;
      void proc.stop(); // stdin has ended, so this is SIGTERM (ffmpeg still writes the trailer), then SIGKILL
    },
  };
}
