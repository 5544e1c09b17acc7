/**
 * Makes small test media with the bundled ffmpeg in a fresh temp dir. Independent of the code
 * under test: it runs the @ffmpeg-installer binary directly.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The bundled ffmpeg binary. */
export const FFMPEG_BIN: string = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
/** The bundled ffprobe binary. */
export const FFPROBE_BIN: string = (require('@ffprobe-installer/ffprobe') as { path: string }).path;

/** A generated video clip. */
export interface ClipOptions {
  width: number;
  height: number;
  fps: number;
  frames: number;
  /** A colour name for a solid clip (lavfi color=c=...), else the testsrc2 pattern. */
  color?: string;
  /** Extra lavfi filters after the source, e.g. 'drawbox=x=0:y=0:w=8:h=8:color=blue:t=fill'. */
  filters?: string;
  /** 'mp4' (H.264, default) or 'webm' (VP8; the container states no frame count). */
  container?: 'mp4' | 'webm';
  /** x264 preset (mp4 only); the default 'medium' uses B-frames, 'ultrafast' encodes big clips quickly. */
  preset?: string;
  /** Rotation metadata in degrees (mp4 only), as phones write it; players and ffmpeg turn the picture.
   *  The unrotated clip is kept next to it with the same name minus `-rot<deg>`. */
  rotate?: number;
  /** Add a 440 Hz sine tone as an AAC stream (mp4) or Vorbis (webm), as long as the video. */
  audio?: boolean;
  name?: string;
}

/** A temp dir of generated media; call cleanup() when done. */
export interface TestMedia {
  readonly dir: string;
  /** A clip; mp4s have their index (moov) at the front. */
  clip(o: ClipOptions): Promise<string>;
  /** A one-frame still image. */
  still(ext: 'jpg' | 'png', o: { width: number; height: number; color?: string }): Promise<string>;
  /** A text file with a video extension. */
  notAVideo(): Promise<string>;
  /** An mp4 cut in half with its index at the end: no moov atom, ffprobe cannot open it. */
  truncatedMp4(): Promise<string>;
  /** An mp4 cut right after its index: ffprobe sees a video stream, no frame can be decoded. */
  headerOnlyMp4(): Promise<string>;
  /** An audio-only m4a (no video stream at all). */
  audioOnly(): Promise<string>;
  /** Ffprobe's count of decoded frames (-count_frames), independent of the container's claim. */
  countFrames(file: string): Promise<number>;
  cleanup(): Promise<void>;
}

let counter = 0;

/** Creates a temp dir under os.tmpdir() for generated media. */
export async function createTestMedia(): Promise<TestMedia> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-media-'));
  const out = (name: string): string => path.join(dir, name);
  const ffmpeg = async (args: string[]): Promise<void> => {
    await run(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  };
  const encodeMp4 = (frames: number, dest: string, faststart: boolean): Promise<void> =>
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', String(frames),
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', ...(faststart ? ['-movflags', '+faststart'] : []), dest,
    ]);

  return {
    dir,
    async clip(o) {
      const container = o.container ?? 'mp4';
      const file = out(o.name ?? `clip-${o.width}x${o.height}-${o.fps}fps-${o.frames}f-${o.color ?? 'testsrc2'}-${++counter}.${container}`);
      const src = (o.color
        ? `color=c=${o.color}:size=${o.width}x${o.height}:rate=${o.fps}`
        : `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`) + (o.filters ? `,${o.filters}` : '');
      const codec = container === 'mp4'
        ? ['-c:v', 'libx264', '-preset', o.preset ?? 'medium', '-pix_fmt', 'yuv420p', '-movflags', '+faststart']
        : ['-c:v', 'libvpx', '-b:v', '200k', '-pix_fmt', 'yuv420p'];
      const tone = o.audio
        ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.frames / o.fps}`, '-c:a', container === 'mp4' ? 'aac' : 'libvorbis']
        : [];
      await ffmpeg(['-f', 'lavfi', '-i', src, ...tone, '-frames:v', String(o.frames), ...codec, file]);
      if (!o.rotate) return file;
      // This ffmpeg writes the rotate tag only when stream-copying, so tag a copy.
      const rotated = file.replace(/\.mp4$/, `-rot${o.rotate}.mp4`);
      await ffmpeg(['-i', file, '-c', 'copy', '-metadata:s:v:0', `rotate=${o.rotate}`, rotated]);
      return rotated;
    },
    async still(ext, o) {
      const file = out(`still-${++counter}.${ext}`);
      await ffmpeg(['-f', 'lavfi', '-i', `color=c=${o.color ?? 'blue'}:size=${o.width}x${o.height}`, '-frames:v', '1', file]);
      return file;
    },
    async notAVideo() {
      const file = out(`not-a-video-${++counter}.mp4`);
      await writeFile(file, 'this is a text file, not a video\n'.repeat(20));
      return file;
    },
    async truncatedMp4() {
      const full = out(`full-${++counter}.mp4`);
      await encodeMp4(30, full, false);
      const bytes = await readFile(full);
      const file = out(`truncated-${counter}.mp4`);
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      return file;
    },
    async headerOnlyMp4() {
      const full = out(`full-${++counter}.mp4`);
      await encodeMp4(30, full, true);
      const bytes = await readFile(full);
      const mdat = bytes.indexOf('mdat');
      if (mdat < 0) throw new Error('test media: no mdat box in the generated mp4');
      const file = out(`header-only-${counter}.mp4`);
      await writeFile(file, bytes.subarray(0, mdat + 4)); // box header kept, no sample data
      return file;
    },
    async audioOnly() {
      const file = out(`audio-only-${++counter}.m4a`);
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.5', '-c:a', 'aac', file]);
      return file;
    },
    async countFrames(file) {
      const { stdout } = await run(FFPROBE_BIN, [
        '-v', 'error', '-count_frames', '-select_streams', 'v:0',
        '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file,
      ]);
      return Number(stdout.trim());
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
