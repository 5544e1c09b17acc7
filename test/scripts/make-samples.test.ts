import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ffprobePath: string = require('@ffprobe-installer/ffprobe').path;
const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/make-samples.mjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves with its exit code and output whatever the code. */
function exec(file: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function probe(file: string, countFrames: boolean): Promise<Record<string, string | number>> {
  const r = await exec(ffprobePath, [
    '-v', 'error', ...(countFrames ? ['-count_frames'] : []), '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames', '-of', 'json', file,
  ]);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout).streams[0];
}

describe('scripts/make-samples.mjs', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-samples-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a playable 1280x720 25 fps H.264 video and a still, then skips them when up to date', async () => {
    const first = await exec(process.execPath, [SCRIPT, dir], { SAMPLES_SECONDS: '1' });
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/wrote .*people\.mp4 \(1280x720, 25 fps, 25 frames, H\.264\)/);
    expect(first.stdout).to.match(/wrote .*people\.jpg/);
    expect((await readdir(dir)).sort()).to.deep.equal(['people.jpg', 'people.mp4']);

    const video = await probe(path.join(dir, 'people.mp4'), true);
    expect(video).to.deep.include({ codec_name: 'h264', pix_fmt: 'yuv420p', width: 1280, height: 720, r_frame_rate: '25/1', nb_read_frames: '25' });
    const still = await probe(path.join(dir, 'people.jpg'), false);
    expect(still).to.deep.include({ codec_name: 'mjpeg', width: 1280 });

    const before = (await stat(path.join(dir, 'people.mp4'))).mtimeMs;
    const again = await exec(process.execPath, [SCRIPT, dir, '--seconds', '1']);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/people\.mp4 is up to date/).and.match(/people\.jpg is up to date/);
    expect((await stat(path.join(dir, 'people.mp4'))).mtimeMs).to.equal(before);

    // Another length is not "up to date": the video is rebuilt with the new frame count.
    const longer = await exec(process.execPath, [SCRIPT, dir, '--seconds=1.2']);
    expect(longer.code, longer.stderr).to.equal(0);
    expect(longer.stdout).to.match(/wrote .*people\.mp4 .*30 frames/).and.match(/people\.jpg is up to date/);
    expect((await probe(path.join(dir, 'people.mp4'), true)).nb_read_frames).to.equal('30');
  });

  it('exits non-zero with a one-line error when ffmpeg cannot run or an option is bad', async () => {
    const out = path.join(dir, 'broken');
    const noFfmpeg = await exec(process.execPath, [SCRIPT, out, '--force'], { SAMPLES_SECONDS: '1', FFMPEG_PATH: path.join(dir, 'no-such-ffmpeg') });
    expect(noFfmpeg.code).to.equal(1);
    expect(noFfmpeg.stderr).to.match(/^make-samples: cannot run .*no-such-ffmpeg: ENOENT\n$/);
    expect(await readdir(out)).to.deep.equal([]); // nothing half-written

    const badSeconds = await exec(process.execPath, [SCRIPT, out, '--seconds', 'soon']);
    expect(badSeconds.code).to.equal(2);
    expect(badSeconds.stderr.trim().split('\n')).to.have.length(1);
    expect(badSeconds.stderr).to.match(/^make-samples: --seconds/);
  });
});
