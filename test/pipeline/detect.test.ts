import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { lastValueFrom, take, toArray } from 'rxjs';
import { detect } from '../../src/pipeline/detect.js';
import { run } from '../../src/pipeline/run.js';
import { createTestMedia, FFMPEG_BIN, type TestMedia } from '../helpers/media.js';

const require = createRequire(import.meta.url);
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample2.jpg');

describe('programmatic API: detect() and run()', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let clip: string;

  before(async () => {
    media = await createTestMedia();
    clip = await media.clip({ width: 320, height: 180, fps: 25, frames: 30 });
  });
  after(async () => {
    await media?.cleanup();
  });

  it('detect() emits one FrameDetections per decoded frame, in order, with stage timings', async () => {
    const all = await lastValueFrom(detect(clip, { batch: 4, maxWaitMs: 10 }).pipe(toArray()));
    expect(all).to.have.length(await media.countFrames(clip));
    all.forEach((fd, i) => {
      expect(fd.frame.seq).to.equal(i);
      expect(fd.frame.ptsMs).to.be.closeTo(i * 40, 0.001);
      expect(fd.frame.width).to.equal(320);
      expect(fd.timings.inference).to.be.above(0);
      expect(fd.timings.preprocess).to.be.above(0);
      expect(fd.timings.decode).to.be.a('number');
    });
  });

  it('detect() can be cut short (unsubscribe stops decoding and frees the engine)', async () => {
    const t0 = Date.now();
    const first = await lastValueFrom(detect(clip, { batch: 2 }).pipe(take(3), toArray()));
    expect(first.map((f) => f.frame.seq)).to.deep.equal([0, 1, 2]);
    expect(Date.now() - t0).to.be.below(20_000);
  });

  it('detect() errors with a coded error for a bad input', async () => {
    try {
      await lastValueFrom(detect(path.join(media.dir, 'missing.mp4')));
      expect.fail('should have failed');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('E_INPUT_NOT_FOUND');
    }
  });

  it('run() stopped by its signal finalizes the JSONL and reports aborted', async () => {
    const long = await media.clip({ width: 320, height: 180, fps: 25, frames: 600 });
    const jsonl = path.join(media.dir, 'abort.jsonl');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500);
    const summary = await run(long, { jsonl, signal: ac.signal, batch: 2 });
    expect(summary.ended).to.equal('aborted');
    expect(summary.frames).to.be.above(0).and.below(600);
    const lines = (await readFile(jsonl, 'utf8')).split('\n');
    expect(lines.pop()).to.equal('');
    expect(lines).to.have.length(summary.frames);
    lines.forEach((l, i) => expect(JSON.parse(l).frame).to.equal(i));
  });

  it('run() reuses frame and input buffers without mixing frames up: its JSONL equals detect()', async () => {
    // 40 frames of a photo with people, panning: every frame differs, and more frames than the
    // in-flight limit pass through, so buffers are recycled many times over.
    const faces = path.join(media.dir, 'pan.mp4');
    await promisify(execFile)(FFMPEG_BIN, [
      '-hide_banner', '-loglevel', 'error', '-y', '-loop', '1', '-framerate', '25', '-i', PHOTO,
      '-vf', 'scale=960:640,crop=640:480:x=4*n:y=40', '-frames:v', '40', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', faces,
    ]);
    const expected = await lastValueFrom(detect(faces, { batch: 1 }).pipe(toArray()));
    const jsonl = path.join(media.dir, 'pan.jsonl');
    const video = path.join(media.dir, 'pan-annotated.mp4');
    const summary = await run(faces, { jsonl, video, batch: 1 });
    expect(summary.frames).to.equal(40);
    const lines = (await readFile(jsonl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.have.length(expected.length);
    expect(expected.filter((fd) => fd.detections.length > 0).length).to.be.at.least(20); // faces on most frames
    lines.forEach((line, i) => {
      const want = expected[i].detections.map((d) => d.score.toFixed(4));
      expect(line.detections.map((d: { score: number }) => d.score.toFixed(4)), `frame ${i}`).to.deep.equal(want);
    });
  });
});
