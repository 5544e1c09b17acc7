import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { fileSource } from '../../src/sources/file-source.js';
import { probeInput } from '../../src/sources/probe.js';
import type { SourceReport } from '../../src/sources/source-report.js';
import { createTestMedia, FFMPEG_BIN, FFPROBE_BIN, type TestMedia } from '../helpers/media.js';

// pts_ms comes from the container's timestamps: a variable-frame-rate clip (10 frames at 25 fps,
// then one frame in five: 200 ms gaps) gives the times ffprobe reads from the file, not
// seq x 1000 / fps. Checked with the bundled 2018 ffmpeg (-vsync, -enc_time_base -1) and with the
// system's FFmpeg 5.1 (-fps_mode) when there is one.

const exec = promisify(execFile);
const SYSTEM_FFMPEG = '/usr/bin/ffmpeg';

describe('container timestamps (variable frame rate)', function () {
  this.timeout(60_000);
  let media: TestMedia;
  let vfr: string;
  let expected: number[];

  before(async () => {
    media = await createTestMedia();
    vfr = path.join(media.dir, 'vfr.mp4');
    await exec(FFMPEG_BIN, [
      '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25',
      '-vf', "select='lt(n,10)+not(mod(n,5))'", '-vsync', 'vfr', '-frames:v', '30',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', vfr,
    ]);
    const { stdout } = await exec(FFPROBE_BIN, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', vfr]);
    expected = stdout.split('\n').map((t) => t.replace(/,$/, '').trim()).filter(Boolean).map((t) => Math.round(Number(t) * 1e6) / 1e3);
  });
  after(async () => {
    await media?.cleanup();
  });

  it('the clip really is variable-rate: its average rate would put frames at the wrong times', async () => {
    expect(expected.slice(0, 12)).to.deep.equal([0, 40, 80, 120, 160, 200, 240, 280, 320, 360, 400, 600]);
    const info = await probeInput(vfr);
    const byRate = expected.map((_, i) => Math.round((i * 1e6) / info.fps) / 1e3);
    expect(byRate[27]).to.not.be.closeTo(expected[27], 100);
  });

  for (const [name, ffmpegPath] of [['bundled ffmpeg', undefined], ['system FFmpeg 5.1', SYSTEM_FFMPEG]] as const) {
    it(`ptsMs is the container's presentation time of each frame (${name})`, async function () {
      if (ffmpegPath && !existsSync(ffmpegPath)) this.skip();
      let report: SourceReport | null = null;
      const frames = await lastValueFrom(fileSource(vfr, { ffmpegPath, onReport: (r) => (report = r) }).pipe(toArray()));
      expect(frames.map((f) => f.seq)).to.deep.equal([...expected.keys()]);
      // The container declares 30 frames; its edit list hides the last two: not a truncation.
      expect(report).to.include({ declared_frames: 30, decoded_frames: 28, truncated: false, decode_errors: 0 });
      expect(frames.map((f) => f.ptsMs)).to.deep.equal(expected);
    });
  }

  it('a constant-rate clip and a still image keep frame x 1000 / fps and 0', async () => {
    const cfr = await media.clip({ width: 64, height: 48, fps: 30, frames: 12 });
    const frames = await lastValueFrom(fileSource(cfr).pipe(toArray()));
    expect(frames.map((f) => f.ptsMs)).to.deep.equal(frames.map((_, i) => Math.round((i * 1e6) / 30) / 1e3));
    // A 1x1 picture: the timestamp output's crop must fit in it.
    const png = path.join(media.dir, 'one-pixel.png');
    await exec(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:size=2x2', '-vf', 'scale=1:1', '-frames:v', '1', png]);
    const still = await lastValueFrom(fileSource(png).pipe(toArray()));
    expect(still.map((f) => [f.ptsMs, f.width, f.height])).to.deep.equal([[0, 1, 1]]);
  });
});
