/**
 * Pure builders for the ffmpeg / ffprobe arguments that open a live input (see live-input.ts for
 * the kinds). No I/O: live-source.ts runs them. Options whose names changed between ffmpeg
 * versions are chosen from the `-version` text of the binary that will run them, as
 * passthroughSyncArgs does; ffmpeg and ffprobe may be different builds (the bundled ffprobe is
 * newer than the bundled 2018 ffmpeg), so each gets the arguments for its own version.
 */
import { OptionError } from '../errors.js';
import { FFMPEG_LOGLEVEL } from './ffmpeg-args.js';
import type { InputKind, InputSpec } from './live-input.js';

/** RTSP's lower transport: TCP (interleaved in the RTSP connection; default) or UDP. */
export type RtspTransport = 'tcp' | 'udp';

/** Default socket / read timeout: a camera silent this long is dead to ffmpeg. */
export const DEFAULT_IO_TIMEOUT_MS = 5000;

/** The longest pause ffmpeg's own HTTP reconnect may wait before the outer reconnect takes over. */
export const HTTP_RECONNECT_DELAY_MAX_S = 2;

/** What liveInputArgs needs besides the input. */
export interface LiveArgsOptions {
  /** `-version` output of the binary (ffmpeg or ffprobe) that will get these arguments. */
  versionText: string;
  /** RTSP transport (default 'tcp': no loss and no NAT trouble; 'udp' for cameras that need it). */
  rtspTransport?: RtspTransport;
  /** Socket / read timeout in ms (default DEFAULT_IO_TIMEOUT_MS). */
  ioTimeoutMs?: number;
  /**
   * The stream was just probed: let ffmpeg look at only QUICK_ANALYZE_US of it before decoding
   * (ffmpeg's default analysis of a few seconds otherwise delays the first frame of every
   * connection by about half a second more). For the decoder, never for the probe itself.
   */
  quickStart?: boolean;
}

/** -analyzeduration (µs) and -probesize (bytes) for quickStart: enough for the SPS/PPS and one keyframe. */
export const QUICK_ANALYZE_US = 500_000;
export const QUICK_PROBESIZE_BYTES = 1_000_000;

/** A library's major and minor version from `-version` text, or null when it is not listed. */
export function libraryVersion(versionText: string, library: string): { major: number; minor: number } | null {
  const m = new RegExp(`${library}\\s+(\\d+)\\.\\s*(\\d+)`).exec(versionText);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/**
 * The RTSP socket timeout option. FFmpeg 5.0 (libavformat 59) removed `-stimeout` and gave its
 * meaning to `-timeout`; before that `-timeout` was the *listen* timeout in seconds and implied
 * `rtsp_flags listen`, so passing it to a 4.x or 2018 build makes ffmpeg wait for a camera to
 * connect to it ("Unable to open RTSP for listening"). Both take microseconds. A version text
 * without libavformat (unknown build) gets the old name, as passthroughSyncArgs assumes old.
 */
export function rtspTimeoutArgs(versionText: string, timeoutMs: number): string[] {
  const avformat = libraryVersion(versionText, 'libavformat');
  const name = avformat !== null && avformat.major >= 59 ? '-timeout' : '-stimeout';
  return [name, String(Math.round(timeoutMs * 1000))];
}

/**
 * Input options and `-i url` for one live input, for ffmpeg or ffprobe.
 *
 * - All kinds: `-fflags +discardcorrupt+genpts` drops packets the demuxer flags as corrupt
 *   (damaged RTP, truncated JPEGs) instead of decoding garbage, and makes timestamps for inputs
 *   without them (MJPEG, raw streams on stdin).
 * - Network kinds and capture devices: `-flags low_delay` stops the decoder from holding frames
 *   back; a live frame is worth most the moment it arrives. Not `-fflags nobuffer`: it discards
 *   the packets read while ffmpeg analyses the stream, keyframe included, so the first picture
 *   waits for the next keyframe (a second more on a 1 s GOP, measured with both builds).
 * - RTSP: `-rtsp_transport`, the socket timeout (rtspTimeoutArgs) and `-allowed_media_types video`
 *   (audio is never SETUP, so it costs no bandwidth and cannot stall the demuxer).
 * - HTTP (MJPEG, HLS, progressive): `-rw_timeout` (µs; any read or write blocked this long fails)
 *   and ffmpeg's own reconnect for short drops, capped at HTTP_RECONNECT_DELAY_MAX_S so a dead
 *   camera still fails fast into the outer reconnect loop, which re-probes. HLS starts at the
 *   newest segment (`-live_start_index -1`) rather than three back.
 * - v4l2: `-f v4l2`. Standard input: `pipe:0` (ffmpeg's stdin carries the data, so such a
 *   process cannot be stopped with 'q'). Files: the `file:` URL only.
 */
export function liveInputArgs(input: InputSpec, options: LiveArgsOptions): string[] {
  const transport = options.rtspTransport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') throw new OptionError('--rtsp-transport', '"tcp" or "udp"', transport);
  const timeoutMs = options.ioTimeoutMs ?? DEFAULT_IO_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new OptionError('ioTimeoutMs', 'a number of ms > 0', timeoutMs);
  const micros = String(Math.round(timeoutMs * 1000));
  const quick = options.quickStart ? ['-analyzeduration', String(QUICK_ANALYZE_US), '-probesize', String(QUICK_PROBESIZE_BYTES)] : [];
  const tolerant = (lowLatency: boolean): string[] => [...quick, '-fflags', '+discardcorrupt+genpts', ...(lowLatency ? ['-flags', 'low_delay'] : [])];
  const httpArgs = ['-rw_timeout', micros, '-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', String(HTTP_RECONNECT_DELAY_MAX_S)];

  const kind: InputKind = input.kind;
  switch (kind) {
    case 'rtsp':
    case 'rtsps':
      return ['-rtsp_transport', transport, ...rtspTimeoutArgs(options.versionText, timeoutMs),
        '-allowed_media_types', 'video', ...tolerant(true), '-i', input.url];
    case 'mjpeg':
      return [...httpArgs, ...tolerant(true), '-i', input.url];
    case 'hls':
      return [...httpArgs, '-live_start_index', '-1', ...tolerant(true), '-i', input.url];
    case 'http':
      return [...httpArgs, ...tolerant(false), '-i', input.url];
    case 'v4l2':
      return ['-f', 'v4l2', ...tolerant(true), '-i', input.url];
    case 'stdin':
      return [...tolerant(false), '-i', 'pipe:0'];
    case 'file':
      return [...quick, '-i', input.url];
  }
}

/** ffprobe arguments for a live input: every stream and the container, as JSON on stdout. */
export function liveProbeArgs(input: InputSpec, options: LiveArgsOptions): string[] {
  return ['-v', 'error', ...liveInputArgs(input, options), '-print_format', 'json', '-show_streams', '-show_format'];
}

/** What liveDecodeArgs needs. */
export interface LiveDecodeArgsOptions {
  /** From liveInputArgs (for the ffmpeg binary that will run). */
  readonly inputArgs: readonly string[];
  /** Output size: every frame is scaled to it, so the rawvideo framing on the pipe never breaks. */
  readonly width: number;
  readonly height: number;
  /** From passthroughSyncArgs: frames pass through, none duplicated to fill gaps in a live stream. */
  readonly syncArgs: readonly string[];
}

/**
 * ffmpeg arguments that decode a live input's first video stream to packed RGB24 frames on
 * stdout, as decodeRgbArgs does for files, with the input options in front of `-i`.
 */
export function liveDecodeArgs(o: LiveDecodeArgsOptions): string[] {
  return [
    '-hide_banner', '-loglevel', FFMPEG_LOGLEVEL,
    ...o.inputArgs,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...o.syncArgs,
    '-vf', `scale=${o.width}:${o.height}`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24',
    'pipe:1',
  ];
}
