import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PALETTE, drawDetections } from '../../src/annotate/draw-detections.js';
import { trackColor } from '../../src/annotate/track-color.js';
import { TrackTrails } from '../../src/annotate/track-trails.js';
import type { Detection, FrameDetections } from '../../src/detection.js';
import { AbortedError, FfmpegError, OptionError, OutputError, SsdpipeError } from '../../src/errors.js';
import { evenSize, openAnnotatedVideo } from '../../src/sinks/annotated-video.js';

const require = createRequire(import.meta.url);
const ffprobePath: string = require('@ffprobe-installer/ffprobe').path;
const ffmpegPath: string = require('@ffmpeg-installer/ffmpeg').path;
const run = promisify(execFile);

interface Probe {
  codec_name: string;
  pix_fmt: string;
  width: number;
  height: number;
  r_frame_rate: string;
  nb_read_frames: string;
}

async function probe(file: string): Promise<Probe> {
  const { stdout } = await run(ffprobePath, [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames', '-of', 'json', file,
  ]);
  return JSON.parse(stdout).streams[0];
}

/** Decodes frame 0 of a video to packed RGB24. */
async function firstFrameRgb(file: string): Promise<Buffer> {
  const { stdout } = await run(ffmpegPath, ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/** Decodes every frame of a video to packed RGB24 and returns the last one. */
async function lastFrameRgb(file: string, frameBytes: number): Promise<Buffer> {
  const { stdout } = await run(ffmpegPath, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  return stdout.subarray(stdout.length - frameBytes);
}

/** Mean absolute difference per byte of two equally long images. */
function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** A frame whose gray level follows seq, with one detection box. */
function item(width: number, height: number, seq: number, detections: Detection[] = [box()]): FrameDetections {
  const data = new Uint8Array(width * height * 3).fill(60 + (seq % 10) * 10);
  return { frame: { source: 'test', seq, ptsMs: seq * 40, width, height, data }, detections, timings: {} };
}

function box(): Detection {
  return { classId: 0, label: 'face', score: 0.87, box: [0.2, 0.2, 0.7, 0.8], trackId: null };
}

describe('openAnnotatedVideo', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-video-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes an H.264 yuv420p MP4 with the frames, size and fps written, boxes drawn in', async () => {
    const file = path.join(dir, 'out.mp4');
    // 160x120x3 = 57.6 kB a frame: a dozen frames overrun the pipe buffer, so writes wait for 'drain'.
    const sink = await openAnnotatedVideo({ path: file, width: 160, height: 120, fps: 25, style: { lineWidth: 6 } });
    expect(sink.name).to.equal(`annotated-video ${file}`);
    for (let seq = 0; seq < 12; seq++) await sink.write(item(160, 120, seq));
    await sink.close();
    await sink.close(); // idempotent

    const p = await probe(file);
    expect(p).to.deep.include({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 160, height: 120, r_frame_rate: '25/1', nb_read_frames: '12' });
    expect(await readdir(dir)).to.deep.equal(['out.mp4']);

    const rgb = await firstFrameRgb(file);
    const at = (x: number, y: number): number[] => [...rgb.subarray((y * 160 + x) * 3, (y * 160 + x) * 3 + 3)];
    const near = (a: number[], b: readonly number[], tol: number): boolean => a.every((v, i) => Math.abs(v - b[i]) <= tol);
    expect(near(at(34, 60), DEFAULT_PALETTE[0], 40), `left edge ${at(34, 60)}`).to.equal(true); // box x1 = 32, 6 px wide
    expect(near(at(80, 60), [60, 60, 60], 12), `inside ${at(80, 60)}`).to.equal(true);
  });

  it('draws tracked detections with their id tag, track colour and trail, as drawDetections does with trails', async () => {
    const file = path.join(dir, 'tracked.mp4');
    const [w, h] = [160, 120];
    const style = { lineWidth: 4, fontSize: 18 };
    const sink = await openAnnotatedVideo({ path: file, width: w, height: h, fps: 25, crf: 10, style, trails: { length: 8 } });
    // Track 7 walks right: its box's bottom-centre goes from x 0.2 to 0.62 along y = 0.75.
    const walker = (seq: number, trackId: number | null): Detection => {
      const cx = 0.2 + seq * 0.06;
      return { classId: 0, label: 'person', score: 0.9, box: [cx - 0.1, 0.35, cx + 0.1, 0.75], trackId, confirmed: true };
    };
    const frames = Array.from({ length: 8 }, (_, seq) => item(w, h, seq, [walker(seq, 7)]));
    for (const f of frames) await sink.write(f);
    await sink.close();
    expect((await probe(file)).nb_read_frames).to.equal('8');

    const decoded = await lastFrameRgb(file, w * h * 3);
    const last = frames[7];
    const trails = new TrackTrails({ length: 8 });
    for (const f of frames) trails.update(f.frame, f.detections);
    const expected = drawDetections(last.frame, last.detections, style, undefined, trails);
    const untracked = drawDetections(last.frame, [walker(7, null)], style);
    // The video is the tracked drawing (up to x264 and yuv420p), much closer to it than to the untracked one.
    const toTracked = meanAbsDiff(decoded, expected);
    const toUntracked = meanAbsDiff(decoded, untracked);
    expect(toTracked, `tracked ${toTracked}, untracked ${toUntracked}`).to.be.lessThan(4);
    expect(toUntracked, `tracked ${toTracked}, untracked ${toUntracked}`).to.be.greaterThan(4 * toTracked);
    // The tag reads "#7 person 0.90": above the box (rows 0..41 hold only the tag) the video matches
    // it, not the same tag in the same colour without the id.
    const noId = drawDetections(last.frame, [walker(7, null)], { ...style, palette: [trackColor(7)] });
    const tagRows = w * 42 * 3;
    const tagToTracked = meanAbsDiff(decoded.subarray(0, tagRows), expected.subarray(0, tagRows));
    const tagToNoId = meanAbsDiff(decoded.subarray(0, tagRows), noId.subarray(0, tagRows));
    expect(tagToNoId, `tag: with id ${tagToTracked}, without ${tagToNoId}`).to.be.greaterThan(2 * tagToTracked);

    const at = (x: number, y: number): number[] => [...decoded.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
    const near = (a: number[], b: readonly number[], tol: number): boolean => a.every((v, i) => Math.abs(v - b[i]) <= tol);
    // The box's left edge (x1 = 0.52 * 160 = 83) in the track's colour, not the class palette's.
    expect(near(at(85, 70), trackColor(7), 40), `box edge ${at(85, 70)}`).to.equal(true);
    // The trail's newest segments along y = 90 (0.75 * 120), left of the box, in the track's colour.
    expect(near(at(90, 91), trackColor(7), 60), `trail ${at(90, 91)}`).to.equal(true);
    expect(near(at(90, 100), [130, 130, 130], 12), `below the trail ${at(90, 100)}`).to.equal(true); // seq 7's gray
  });

  it('draws no trails when trails are off', async () => {
    const file = path.join(dir, 'no-trails.mp4');
    const sink = await openAnnotatedVideo({ path: file, width: 64, height: 48, fps: 25, trails: false, style: { labels: false } });
    for (let seq = 0; seq < 4; seq++) {
      const cx = 0.2 + seq * 0.15;
      await sink.write(item(64, 48, seq, [{ classId: 0, label: 'person', score: 0.9, box: [cx - 0.1, 0.2, cx + 0.1, 0.6], trackId: 1 }]));
    }
    await sink.close();
    const rgb = await lastFrameRgb(file, 64 * 48 * 3);
    // Where the trail would run (y = 0.6 * 48 = 28, x 12..31), the last frame is its plain gray (seq 3: 90).
    const at = (x: number, y: number): number[] => [...rgb.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
    for (const x of [14, 20, 26]) expect(at(x, 28).every((v) => Math.abs(v - 90) <= 12), `x ${x}: ${at(x, 28)}`).to.equal(true);
  });

  it('pads odd sizes to even (yuv420p) and keeps the frame count and fps', async () => {
    const file = path.join(dir, 'odd.mp4');
    const sink = await openAnnotatedVideo({ path: file, width: 33, height: 21, fps: 12 });
    for (let seq = 0; seq < 7; seq++) await sink.write(item(33, 21, seq));
    await sink.close();
    const p = await probe(file);
    expect([p.width, p.height]).to.deep.equal([evenSize(33), evenSize(21)]).and.deep.equal([34, 22]);
    expect(p.nb_read_frames).to.equal('7');
    expect(p.r_frame_rate).to.equal('12/1');
  });

  it('replaces an existing target only when the new video is complete', async () => {
    const file = path.join(dir, 'out.mp4');
    await writeFile(file, 'old video');
    const sink = await openAnnotatedVideo({ path: file, width: 32, height: 32, fps: 10 });
    await sink.write(item(32, 32, 0));
    expect(await readFile(file, 'utf8')).to.equal('old video'); // untouched while encoding
    await sink.close();
    expect((await probe(file)).nb_read_frames).to.equal('1');
  });

  it('leaves an existing target intact and reports the stderr tail when ffmpeg fails', async () => {
    const file = path.join(dir, 'out.mp4');
    await writeFile(file, 'old video');
    // An "ffmpeg" that takes a little input, then fails the way a broken encoder does.
    const fake = path.join(dir, 'fake-ffmpeg.sh');
    await writeFile(fake, '#!/bin/sh\nhead -c 1000 >/dev/null\necho "frame=1 starting" >&2\necho "[libx264] encoder exploded" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    const sink = await openAnnotatedVideo({ path: file, width: 160, height: 120, fps: 25, ffmpegPath: fake });
    let error: unknown;
    try {
      for (let seq = 0; seq < 50; seq++) await sink.write(item(160, 120, seq));
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(FfmpegError);
    expect((error as FfmpegError).message).to.match(/exited with code 1: \[libx264\] encoder exploded$/);
    expect((error as FfmpegError).stderrTail).to.include('frame=1 starting');
    let closeError: unknown;
    await sink.close().catch((err) => (closeError = err));
    expect(closeError).to.equal(error);
    expect(await readFile(file, 'utf8')).to.equal('old video');
    expect((await readdir(dir)).sort()).to.deep.equal(['fake-ffmpeg.sh', 'out.mp4']);
  });

  it('on abort stops taking frames and finalizes a playable file with the frames written', async () => {
    const file = path.join(dir, 'aborted.mp4');
    const ac = new AbortController();
    const sink = await openAnnotatedVideo({ path: file, width: 64, height: 48, fps: 25, signal: ac.signal });
    for (let seq = 0; seq < 8; seq++) await sink.write(item(64, 48, seq));
    ac.abort();
    let error: unknown;
    await sink.write(item(64, 48, 8)).catch((err) => (error = err));
    expect(error).to.be.instanceOf(AbortedError);
    await sink.close();
    const p = await probe(file);
    expect(p.nb_read_frames).to.equal('8');
    expect([p.width, p.height]).to.deep.equal([64, 48]);
  });

  it('closing before any frame leaves the target as it was and no temporary file', async () => {
    const file = path.join(dir, 'out.mp4');
    await writeFile(file, 'old video');
    const sink = await openAnnotatedVideo({ path: file, width: 64, height: 48, fps: 25 });
    await sink.close();
    expect(await readFile(file, 'utf8')).to.equal('old video');
    expect(await readdir(dir)).to.deep.equal(['out.mp4']);
  });

  it('refuses an already aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    let error: unknown;
    await openAnnotatedVideo({ path: path.join(dir, 'x.mp4'), width: 64, height: 48, fps: 25, signal: ac.signal }).catch((e) => (error = e));
    expect(error).to.be.instanceOf(AbortedError);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('creates a missing directory, and throws a one-line OutputError for an unwritable place', async () => {
    const nested = path.join(dir, 'a', 'b', 'out.mp4');
    const sink = await openAnnotatedVideo({ path: nested, width: 16, height: 16, fps: 5 });
    await sink.write(item(16, 16, 0));
    await sink.close();
    expect((await probe(nested)).nb_read_frames).to.equal('1');

    await writeFile(path.join(dir, 'plain-file'), '');
    await mkdir(path.join(dir, 'a-directory.mp4'));
    for (const bad of [path.join(dir, 'plain-file', 'out.mp4'), path.join(dir, 'a-directory.mp4')]) {
      let error: unknown;
      await openAnnotatedVideo({ path: bad, width: 16, height: 16, fps: 5 }).catch((e) => (error = e));
      expect(error, bad).to.be.instanceOf(OutputError);
      expect((error as OutputError).code).to.equal('E_OUTPUT');
      expect((error as OutputError).message, (error as Error).message).to.match(/^cannot write --video .+: (.*plain-file is a file, not a folder|it is a directory)$/);
      expect((error as OutputError).message).to.not.include('\n');
    }
  });

  it('a .jpg or .png target gets the one annotated picture of a still image; a video is refused', async () => {
    for (const [ext, codec] of [['jpg', 'mjpeg'], ['png', 'png']] as const) {
      const file = path.join(dir, `still.${ext}`);
      const sink = await openAnnotatedVideo({ path: file, width: 161, height: 121, fps: 25, stillImage: true, style: { lineWidth: 6 } });
      await sink.write(item(161, 121, 0));
      await sink.close();
      expect(await probe(file)).to.deep.include({ codec_name: codec, width: 161, height: 121, nb_read_frames: '1' });
      const rgb = await firstFrameRgb(file);
      const at = (x: number, y: number): number[] => [...rgb.subarray((y * 161 + x) * 3, (y * 161 + x) * 3 + 3)];
      expect(at(34, 60).every((v, i) => Math.abs(v - DEFAULT_PALETTE[0][i]) <= 40), `box edge ${at(34, 60)}`).to.equal(true);
    }
    expect((await readdir(dir)).sort()).to.deep.equal(['still.jpg', 'still.png']);

    let refused: unknown;
    await openAnnotatedVideo({ path: path.join(dir, 'video.jpg'), width: 16, height: 16, fps: 5, stillImage: false }).catch((e) => (refused = e));
    expect(refused).to.be.instanceOf(OptionError);
    expect((refused as Error).message).to.match(/^option --video: expected a \.mp4, \.m4v or \.mov file for a video input, received ".*video\.jpg"$/);
    // Not told what the input is: the second frame is refused.
    const sink = await openAnnotatedVideo({ path: path.join(dir, 'unknown.png'), width: 16, height: 16, fps: 5 });
    await sink.write(item(16, 16, 0));
    let second: unknown;
    await sink.write(item(16, 16, 1)).catch((e) => (second = e));
    expect(second).to.be.instanceOf(OptionError);
    await sink.close();
    let other: unknown;
    await openAnnotatedVideo({ path: path.join(dir, 'x.avi'), width: 16, height: 16, fps: 5 }).catch((e) => (other = e));
    expect((other as Error).message).to.match(/--video: expected a \.mp4, \.m4v or \.mov file \(or \.jpg, \.jpeg, \.png for a still image input\)/);
  });

  it('rejects bad options, a missing ffmpeg, and frames of another size', async () => {
    const base = { path: path.join(dir, 'x.mp4'), width: 16, height: 16, fps: 5 };
    for (const bad of [{ width: 0 }, { fps: 0 }, { crf: 60 }, { preset: 'warp-speed' }, { style: { lineWidth: 0 } }, { trails: { length: 1 } }]) {
      let error: unknown;
      await openAnnotatedVideo({ ...base, ...bad }).catch((e) => (error = e));
      expect(error, JSON.stringify(bad)).to.be.instanceOf(OptionError);
    }
    let missing: unknown;
    await openAnnotatedVideo({ ...base, ffmpegPath: path.join(dir, 'no-ffmpeg') }).catch((e) => (missing = e));
    expect(missing).to.be.instanceOf(SsdpipeError);
    expect((missing as SsdpipeError).code).to.equal('E_FFMPEG_NOT_FOUND');
    expect(await readdir(dir)).to.deep.equal([]);

    const sink = await openAnnotatedVideo(base);
    let error: unknown;
    await sink.write(item(32, 16, 0)).catch((e) => (error = e));
    expect(error).to.be.instanceOf(OutputError);
    expect((error as Error).message).to.include('is 32x16, but the video was opened for 16x16');
    await sink.close();
  });
});
