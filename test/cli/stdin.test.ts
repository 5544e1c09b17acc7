import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FFMPEG_BIN, FFPROBE_BIN } from '../helpers/media.js';

// End to end: `cat clip.ts | ssdpipe detect -`, with the built CLI (bin/ssdpipe -> dist/cli.js)
// reading a real pipe that this test fills from a file it made with ffmpeg.

const exec = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'ssdpipe');
const FRAMES = 30;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/ssdpipe with `file` written into its standard input through a pipe. */
function ssdpipe(args: string[], file: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn(BIN, args, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // ssdpipe may exit before reading it all (a refused input): that EPIPE is expected.
  child.stdin!.on('error', () => {});
  createReadStream(file).pipe(child.stdin!);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => void (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => void (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * An ffprobe that reads MPEG-TS: the bundled static ffprobe (N-66595, 2023) crashes with SIGSEGV
 * on any MPEG-TS input on some machines (files too, not only pipes); then the one on PATH.
 */
async function tsCapableFfprobe(ts: string): Promise<string | null> {
  for (const bin of [FFPROBE_BIN, 'ffprobe']) {
    try {
      await exec(bin, ['-v', 'error', '-show_streams', ts]);
      return bin;
    } catch {
      // try the next
    }
  }
  return null;
}

describe('ssdpipe detect - (standard input)', function () {
  this.timeout(120000);
  let dir: string;
  let ts: string;
  let ffprobe: string | null;
  const file = (name: string): string => path.join(dir, name);

  before(async function () {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build');
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-stdin-cli-'));
    ts = file('clip.ts');
    const ffmpeg = (args: string[]): Promise<unknown> => exec(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', String(FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'mpegts', ts]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', String(FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file('plain.mp4')]);
    await writeFile(file('empty'), '');
    ffprobe = await tsCapableFfprobe(ts);
  });
  after(() => dir && rm(dir, { recursive: true, force: true }));

  it('cat clip.ts | ssdpipe detect - --jsonl --video: one frame record per frame, source stdin, a video of the probed size', async function () {
    if (!ffprobe) return this.skip(); // no ffprobe here reads MPEG-TS (see tsCapableFfprobe)
    const jsonl = file('out.jsonl');
    const video = file('out.mp4');
    const r = await ssdpipe(['detect', '-', '--jsonl', jsonl, '--video', video, '-q'], ts, { FFPROBE_PATH: ffprobe });
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    const records = (await readFile(jsonl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const frames = records.filter((rec) => rec.type === 'frame');
    expect(frames.map((f) => f.frame)).to.deep.equal([...Array(FRAMES).keys()]);
    expect(new Set(records.map((rec) => rec.source))).to.deep.equal(new Set(['stdin']));
    expect(frames[0]).to.include({ width: 160, height: 120 });
    expect(frames[1].pts_ms).to.equal(40);
    const probe = JSON.parse((await exec(FFPROBE_BIN, ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_streams', video])).stdout) as {
      streams: Array<{ width: number; height: number; avg_frame_rate: string; nb_read_frames: string }>;
    };
    expect(probe.streams[0]).to.include({ width: 160, height: 120, avg_frame_rate: '25/1', nb_read_frames: String(FRAMES) });
  });

  it('an MP4 with its index at the end is refused with a clear error, a hint and a non-zero exit', async () => {
    const r = await ssdpipe(['detect', '-', '--jsonl', file('mp4.jsonl')], file('plain.mp4'), {});
    expect(r.code).to.equal(3);
    expect(r.stderr).to.match(/standard input is an MP4 with its index \(moov atom\) at the end: it cannot be read from a pipe/);
    expect(r.stderr).to.match(/hint: save it to a file .* -movflags \+faststart/);
    expect(existsSync(file('mp4.jsonl'))).to.equal(false);
  });

  it('an empty standard input is a clear error', async () => {
    const r = await ssdpipe(['detect', '-', '--jsonl', '-'], file('empty'), {});
    expect(r.code).to.equal(3);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^ssdpipe: error: standard input is empty: nothing was piped in \(hint: /);
  });

  it('two - inputs are an option error', async () => {
    const r = await ssdpipe(['detect', '-', '-'], file('empty'), {});
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/expected standard input \(-\) at most once/);
  });
});
