/**
 * Pure builders for ffmpeg / ffprobe argument lists. No I/O here: ffmpeg-process.ts runs them.
 */

/** ffmpeg's own log level for every run: errors only, so stderr's last line is the reason it failed. */
export const FFMPEG_LOGLEVEL = 'error';

/**
 * A local path as an ffmpeg URL. The `file:` protocol stops ffmpeg from reading a colon in
 * the name as a protocol prefix (`a:b.mp4`) and a leading '-' as an option.
 */
export function fileInputUrl(filePath: string): string {
  return `file:${filePath}`;
}

/** ffprobe arguments: every stream and the container, as JSON on stdout. */
export function probeArgs(inputUrl: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', inputUrl];
}

/**
 * The option that makes ffmpeg pass frames through without duplicating or dropping any, so the
 * number of frames we read equals the number in the stream. `-fps_mode` appeared in FFmpeg 5.1
 * (libavutil 57.28) and `-vsync` was deprecated then; older builds (the 2018 static build that
 * @ffmpeg-installer ships) know only `-vsync`. `versionText` is `ffmpeg -version`'s output.
 */
export function passthroughSyncArgs(versionText: string): string[] {
  const m = /libavutil\s+(\d+)\.\s*(\d+)/.exec(versionText);
  const major = m ? Number(m[1]) : 0;
  const minor = m ? Number(m[2]) : 0;
  const hasFpsMode = major > 57 || (major === 57 && minor >= 28);
  return hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

/** What decodeRgbArgs needs. */
export interface DecodeRgbArgsOptions {
  /** Input URL (see fileInputUrl). */
  readonly input: string;
  /** Output size; the first video stream is scaled to it (a no-op when it matches). */
  readonly width: number;
  readonly height: number;
  /** From passthroughSyncArgs. */
  readonly syncArgs: readonly string[];
  /** Also write each frame's timestamp to this pipe fd (see frameTimestampArgs). */
  readonly timestamps?: { readonly fd: number; readonly timeBaseArgs: readonly string[] };
}

/**
 * ffmpeg arguments that decode the first video stream to packed RGB24 frames on stdout.
 * stdin stays open (no `-nostdin`) so the process can be stopped with 'q'. The explicit scale
 * pins every frame to width x height even if the stream changes size mid-way, which would
 * otherwise break the fixed-size framing on the pipe; the pixel-format conversion needs a
 * scaler anyway, so it costs nothing when the sizes match.
 */
export function decodeRgbArgs(o: DecodeRgbArgsOptions): string[] {
  return [
    '-hide_banner', '-loglevel', FFMPEG_LOGLEVEL,
    '-i', o.input,
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...o.syncArgs,
    '-vf', `scale=${o.width}:${o.height}`,
    '-f', 'rawvideo', '-pix_fmt', 'rgb24',
    'pipe:1',
    ...(o.timestamps ? frameTimestampArgs(o.syncArgs, o.timestamps.timeBaseArgs, o.timestamps.fd) : []),
  ];
}

/**
 * A second output of the same decoded frames that carries only their timestamps, so that pts_ms
 * comes from the container (variable frame rate, gaps) and not from frame x 1000 / fps:
 * the framecrc muxer prints one line per frame, `0, dts, pts, duration, size, crc`, after a
 * `#tb 0: num/den` header. The frames are cropped to 2x2 first (crop only moves pointers), so
 * the checksum and copy cost nothing: decoding the 720p sample clip (250 frames) took a median
 * 0.87 s of CPU with this output and 0.85 s without (11 runs each; ~0.1 ms a frame, within
 * noise), where parsing `-vf showinfo` would checksum every full frame and need info-level logs.
 * `timeBaseArgs` (demuxTimeBaseArgs) keeps the container's time
 * base instead of 1/fps, and -flush_packets 1 sends each line at once, so a frame never waits
 * for its timestamp behind ffmpeg's output buffer.
 */
export function frameTimestampArgs(syncArgs: readonly string[], timeBaseArgs: readonly string[], fd: number): string[] {
  return [
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...syncArgs, ...timeBaseArgs,
    '-vf', 'crop=min(2\\,iw):min(2\\,ih):0:0',
    '-c:v', 'rawvideo', '-f', 'framecrc', '-flush_packets', '1',
    `pipe:${fd}`,
  ];
}

/**
 * The option that makes an encoder keep the demuxer's time base: `-enc_time_base -1`, spelled
 * `demux` from FFmpeg 7 (libavutil 59), where -1 is deprecated. `versionText` is `ffmpeg -version`'s output.
 */
export function demuxTimeBaseArgs(versionText: string): string[] {
  const m = /libavutil\s+(\d+)\./.exec(versionText);
  return ['-enc_time_base', m && Number(m[1]) >= 59 ? 'demux' : '-1'];
}
