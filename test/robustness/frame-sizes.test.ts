import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { inFlightLimit } from '../../src/pipeline/options.js';
import { bytesWritten, cli, ffmpegPidsWithArg, jsonLines, probeStreams, procStatusKb, requireBuiltCli } from '../helpers/cli.js';
import { createTestMedia, FFMPEG_BIN, type TestMedia } from '../helpers/media.js';

// Frame sizes at the edges, through the CLI: 4K, 16x16 and an odd size (641x361), each a clip of
// a photo with people made here, so there are boxes to check against the frame.

const exec = promisify(execFile);
const require = createRequire(import.meta.url);
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type FrameLine = { type: string; frame: number; width: number; height: number; detections: { bbox: number[] }[] };

/** Every box lies within the frame, in pixels. */
function expectBoxesInside(lines: FrameLine[], width: number, height: number): void {
  for (const l of lines) {
    expect(l).to.include({ width, height });
    for (const { bbox: [x1, y1, x2, y2] } of l.detections) {
      expect(x1).to.be.at.least(0);
      expect(y1).to.be.at.least(0);
      expect(x2).to.be.above(x1).and.at.most(width);
      expect(y2).to.be.above(y1).and.at.most(height);
    }
  }
}

describe('frame sizes at the edges (CLI)', function () {
  this.timeout(180_000);
  let media: TestMedia;

  /** `frames` frames at 10 fps of the photo scaled to width x height, then `filters`. */
  async function photoClip(width: number, height: number, frames: number, filters = ''): Promise<string> {
    const file = path.join(media.dir, `photo-${width}x${height}.mp4`);
    // yuv444p: x264 takes odd sizes in 4:4:4 (yuv420p needs even ones), so the input really is 641x361.
    await exec(FFMPEG_BIN, [
      '-hide_banner', '-loglevel', 'error', '-y', '-loop', '1', '-framerate', '10', '-i', PHOTO,
      '-vf', `scale=${width}:${height}${filters}`, '-frames:v', String(frames),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', width % 2 || height % 2 ? 'yuv444p' : 'yuv420p', file,
    ]);
    return file;
  }

  before(async () => {
    requireBuiltCli();
    media = await createTestMedia();
  });
  after(async () => {
    await media?.cleanup();
  });

  it('4K (3840x2160): runs, boxes within the frame, and the decoder is held to the in-flight limit', async () => {
    const clip = await photoClip(3840, 2160, 40);
    const jsonl = path.join(media.dir, '4k.jsonl');
    const video = path.join(media.dir, '4k-out.mp4');
    const frameBytes = 3840 * 2160 * 3;
    const limit = inFlightLimit(3840, 2160, 1); // 10: 256 MiB of 25 MB frames
    const run = cli(['detect', clip, '-q', '--batch', '1', '--jsonl', jsonl, '--video', video]);
    // While it runs: frames the decoder wrote to its pipe (from /proc/<ffmpeg>/io) minus the
    // frames whose JSONL line is written are the frames in flight.
    let done = false;
    let maxInFlight = 0;
    let peakKb = 0;
    const watch = (async () => {
      let decoder: number | undefined;
      while (!done) {
        decoder ??= ffmpegPidsWithArg(clip)[0];
        const wrote = decoder === undefined ? null : bytesWritten(decoder);
        const lines = (await readFile(jsonl, 'utf8').catch(() => '')).split('\n').length - 1;
        if (wrote !== null) maxInFlight = Math.max(maxInFlight, Math.floor(wrote / frameBytes) - lines);
        peakKb = Math.max(peakKb, procStatusKb(run.child.pid!, 'VmHWM') ?? 0);
        await sleep(10);
      }
    })();
    const r = await run;
    done = true;
    await watch;
    expect(r.code, r.stderr).to.equal(0);
    const lines = jsonLines(await readFile(jsonl, 'utf8')).filter((l) => l.type === 'frame') as FrameLine[];
    expect(lines).to.have.length(40);
    expectBoxesInside(lines, 3840, 2160);
    expect(lines.some((l) => l.detections.length > 0), 'faces found at 4K').to.equal(true);
    // The decoder is faster than the model and the 4K encoder: it runs ahead until paused.
    expect(maxInFlight, 'the decoder was watched running ahead').to.be.at.least(3);
    // Up to the limit, plus the frame being written into the pipe when ffmpeg was paused.
    expect(maxInFlight).to.be.at.most(limit + 1);
    // 40 frames unbounded would be 1 GB of frames alone; bounded, the whole process stays well below.
    expect(peakKb * 1024, `peak RSS ${Math.round(peakKb / 1024)} MB`).to.be.below(1.2e9);
    const [v] = await probeStreams(video);
    expect(v).to.include({ width: 3840, height: 2160, nb_read_packets: '40' });
  });

  it('16x16: runs, one record per frame at 16x16, a 16x16 MP4', async () => {
    const clip = await media.clip({ width: 16, height: 16, fps: 25, frames: 20 });
    const video = path.join(media.dir, '16-out.mp4');
    const r = await cli(['detect', clip, '-q', '--jsonl', '-', '--video', video]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = jsonLines(r.stdout).filter((l) => l.type === 'frame') as FrameLine[];
    expect(lines.map((l) => l.frame)).to.deep.equal([...Array(20).keys()]);
    expectBoxesInside(lines, 16, 16);
    const [v] = await probeStreams(video);
    expect(v).to.include({ width: 16, height: 16, nb_read_packets: '20' });
  });

  it('641x361: boxes within 641x361; the MP4 is 642x362, padded by one black column and row at the right and bottom', async () => {
    // A white border 4 px wide: the picture's last column and row are white, the padding's black.
    const clip = await photoClip(641, 361, 10, ',drawbox=x=0:y=0:w=iw:h=ih:color=white:t=4');
    const video = path.join(media.dir, 'odd-out.mp4');
    const r = await cli(['detect', clip, '-q', '--jsonl', '-', '--video', video]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = jsonLines(r.stdout).filter((l) => l.type === 'frame') as FrameLine[];
    expect(lines).to.have.length(10);
    expectBoxesInside(lines, 641, 361);
    expect(lines.some((l) => l.detections.length > 0), 'faces found').to.equal(true);
    const [v] = await probeStreams(video);
    expect(v).to.include({ width: 642, height: 362, nb_read_packets: '10' });
    // The padding is the last column and the last row, black, next to the white border (H.264 blurs the edge a little).
    const { stdout } = await exec(FFMPEG_BIN, ['-v', 'error', '-i', video, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { encoding: 'buffer', maxBuffer: 16 << 20 });
    const px = (x: number, y: number): number => (stdout[(y * 642 + x) * 3] + stdout[(y * 642 + x) * 3 + 1] + stdout[(y * 642 + x) * 3 + 2]) / 3;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const column = (x: number): number => mean([...Array(340).keys()].map((y) => px(x, y + 10)));
    const row = (y: number): number => mean([...Array(620).keys()].map((x) => px(x + 10, y)));
    expect(column(640), "the picture's last column").to.be.above(180);
    expect(row(360), "the picture's last row").to.be.above(180);
    expect(column(641), 'the padding column').to.be.below(60);
    expect(row(361), 'the padding row').to.be.below(60);
  });
});
