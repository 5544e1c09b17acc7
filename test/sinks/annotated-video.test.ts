import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PALETTE } from '../../src/annotate/draw-detections.js';
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
      expect((error as OutputError).message, (error as Error).message).to.match(/^cannot write video to .+: (a part of the path is a file, not a directory \((ENOTDIR|EEXIST)\)|the target is a directory \(EISDIR\))$/);
      expect((error as OutputError).message).to.not.include('\n');
    }
  });

  it('rejects bad options, a missing ffmpeg, and frames of another size', async () => {
    const base = { path: path.join(dir, 'x.mp4'), width: 16, height: 16, fps: 5 };
    for (const bad of [{ width: 0 }, { fps: 0 }, { crf: 60 }, { preset: 'warp-speed' }, { style: { lineWidth: 0 } }]) {
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
