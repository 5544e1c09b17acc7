import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { FfmpegError, InputError, lastLine } from '../errors.js';
import { fileInputUrl, probeArgs } from './ffmpeg-args.js';
import { runFfprobe } from '../ffmpeg/ffmpeg-process.js';

/** What a source needs to know about an input before decoding it. */
export interface MediaInfo {
  /** Size of the decoded frames in pixels, after the rotation ffmpeg applies automatically. */
  readonly width: number;
  readonly height: number;
  /** Frames per second: avg_frame_rate, else r_frame_rate, else FALLBACK_FPS. */
  readonly fps: number;
  /** Frames in the video stream as the container states it (nb_frames), 1 for an image, null if unknown. */
  readonly frameCount: number | null;
  /** Duration in ms (stream, else container), null if unknown. */
  readonly durationMs: number | null;
  /** ffprobe's codec_name of the first video stream, e.g. 'h264', 'mjpeg', 'png'. */
  readonly codec: string;
  /** A still picture (image2 or *_pipe demuxer, or a single-frame stream): decodes to one frame. */
  readonly isImage: boolean;
  /** ffprobe's codec_name of the first audio stream, e.g. 'aac'; null when there is none. */
  readonly audioCodec: string | null;
}

/** Options for probeInput. */
export interface ProbeOptions {
  ffprobePath?: string;
  signal?: AbortSignal;
}

/** The rate ffmpeg itself assumes when a stream states none (what r_frame_rate reports for stills). */
export const FALLBACK_FPS = 25;

/** Reads width, height, frame rate, frame count and duration of a local file's first video stream. */
export async function probeInput(input: string, options: ProbeOptions = {}): Promise<MediaInfo> {
  await checkInputFile(input);
  const url = fileInputUrl(input);
  let json: string;
  try {
    json = await runFfprobe(probeArgs(url), { ffprobePath: options.ffprobePath, signal: options.signal });
  } catch (err) {
    // A failed spawn has no stderr: that is ffprobe's problem, not the input's.
    if (err instanceof FfmpegError && err.stderrTail) {
      if (/moov atom not found/.test(err.stderrTail) && (await startsLikeMp4(input))) {
        throw new InputError('E_INPUT_UNREADABLE', `input unreadable: ${input}: the MP4 has no index (moov atom not found): it is truncated or was never finished`, {
          cause: err,
          hint: 'a recording cut off before it was closed keeps its index nowhere; re-copy the file, or rebuild the index with a tool such as untrunc',
        });
      }
      const reason = lastLine(err.stderrTail).replace(`${url}: `, '');
      throw new InputError('E_INPUT_UNREADABLE', `input unreadable: ${input}: ${reason}`, {
        cause: err,
        hint: 'the file is not a video or image ffmpeg can read (or it is truncated); check it plays in a media player',
      });
    }
    throw err;
  }
  return mediaInfoFromProbe(input, JSON.parse(json) as ProbeJson);
}

/** The file starts with an ISO BMFF box ('ftyp', 'moov', 'mdat', 'free', 'wide' at byte 4), as MP4 and MOV do. */
async function startsLikeMp4(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return false;
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    return bytesRead === 8 && /^(ftyp|moov|mdat|free|wide|skip)$/.test(head.toString('latin1', 4, 8));
  } finally {
    await handle.close();
  }
}

/** Fails with InputError unless `input` is a readable regular file. */
export async function checkInputFile(input: string): Promise<void> {
  let isDir: boolean;
  let empty: boolean;
  try {
    const st = await stat(input);
    isDir = st.isDirectory();
    empty = st.isFile() && st.size === 0;
    await access(input, constants.R_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError('E_INPUT_NOT_FOUND', `input not found: ${input}`, {
        cause,
        hint: 'check the path (relative paths are resolved from the current directory)',
      });
    }
    throw new InputError('E_INPUT_UNREADABLE', `input unreadable: ${input}: ${(cause as Error).message}`, {
      cause,
      hint: 'check the file permissions',
    });
  }
  if (isDir) {
    throw new InputError('E_INPUT_UNREADABLE', `input unreadable: ${input} is a directory`, {
      hint: 'give a video or image file',
    });
  }
  if (empty) {
    throw new InputError('E_INPUT_UNREADABLE', `input unreadable: ${input} is empty (0 bytes)`, {
      hint: 'the file holds no data: it may still be being copied or written',
    });
  }
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  tags?: { rotate?: string };
  side_data_list?: Array<{ rotation?: number }>;
}

interface ProbeJson {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

/** Turns ffprobe's JSON (-show_streams -show_format) into MediaInfo; exported for tests. */
export function mediaInfoFromProbe(input: string, probe: ProbeJson): MediaInfo {
  const streams = probe.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  if (!video || !(video.width! > 0) || !(video.height! > 0)) {
    const found = streams.map((s) => `${s.codec_type ?? 'unknown'} ${s.codec_name ?? ''}`.trim()).join(', ') || 'no streams';
    throw new InputError('E_INPUT_UNREADABLE', `input has no video stream: ${input} (found: ${found})`, {
      hint: 'give a video or image file; audio-only files have nothing to detect',
    });
  }

  const rotation = (((video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation
    ?? Number(video.tags?.rotate ?? 0)) % 360) + 360) % 360;
  const quarterTurn = rotation === 90 || rotation === 270;
  const width = quarterTurn ? video.height! : video.width!;
  const height = quarterTurn ? video.width! : video.height!;

  const fps = parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate) ?? FALLBACK_FPS;
  const formatName = probe.format?.format_name ?? '';
  const nbFrames = video.nb_frames === undefined ? NaN : Number(video.nb_frames);
  const stated = Number.isInteger(nbFrames) && nbFrames > 0 ? nbFrames : null;
  const imageFormat = /(^|,)image2(,|$)|_pipe(,|$)/.test(formatName);
  const isImage = imageFormat || stated === 1;
  const seconds = Number(video.duration ?? probe.format?.duration);

  return {
    width,
    height,
    fps,
    frameCount: isImage ? 1 : stated,
    durationMs: Number.isFinite(seconds) && !isImage ? Math.round(seconds * 1e6) / 1e3 : null,
    codec: video.codec_name ?? 'unknown',
    isImage,
    audioCodec: streams.find((s) => s.codec_type === 'audio')?.codec_name ?? null,
  };
}

function parseRate(rate: string | undefined): number | null {
  if (!rate) return null;
  const [num, den = '1'] = rate.split('/');
  const value = Number(num) / Number(den);
  return Number.isFinite(value) && value > 0 ? value : null;
}
