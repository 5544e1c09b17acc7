import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { filter, lastValueFrom, toArray } from 'rxjs';
import { isFrameRecord } from '../../src/records.js';
import { OptionError } from '../../src/errors.js';
import { detect } from '../../src/pipeline/detect.js';
import { run } from '../../src/pipeline/run.js';
import { createTestMedia, FFMPEG_BIN, type TestMedia } from '../helpers/media.js';

const require = createRequire(import.meta.url);
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample2.jpg');

describe('pipeline/run: run()', function () {
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

  it('refuses an output path that is the input, before touching either', async () => {
    const before = await readFile(clip);
    for (const [key, flag] of [['jsonl', '--jsonl'], ['video', '--video'], ['stats', '--stats']] as const) {
      let err: unknown;
      await run(clip, { [key]: path.join(media.dir, '.', path.basename(clip)) }).catch((e: unknown) => { err = e; });
      expect(err, key).to.be.instanceOf(OptionError);
      expect((err as OptionError).message).to.match(new RegExp(`^option ${flag}: expected an output path other than the input`));
      expect((err as OptionError).hint).to.match(/overwritten/);
    }
    expect((await readFile(clip)).equals(before)).to.equal(true);
  });

  it('with its signal already aborted ends at once: an empty, finalized JSONL and the summary in --stats', async () => {
    const jsonl = path.join(media.dir, 'pre-aborted.jsonl');
    const stats = path.join(media.dir, 'out', 'pre-aborted.stats.json');
    await writeFile(jsonl, 'stale line from an earlier run\n');
    const ac = new AbortController();
    ac.abort();
    const summary = await run(clip, { jsonl, stats, signal: ac.signal, batch: 1 });
    expect(summary).to.include({ ended: 'aborted', frames: 0, model: 'face' });
    expect(await readFile(jsonl, 'utf8')).to.equal('');
    expect(JSON.parse(await readFile(stats, 'utf8'))).to.deep.equal(JSON.parse(JSON.stringify(summary)));
  });

  it('run() stopped by its signal finalizes the JSONL and reports aborted', async () => {
    const long = await media.clip({ width: 320, height: 180, fps: 25, frames: 600, preset: 'ultrafast' });
    const jsonl = path.join(media.dir, 'abort.jsonl');
    const ac = new AbortController();
    // Stop once the first lines are out (not after a fixed time: a loaded machine may not have
    // written a frame by then).
    const poll = setInterval(() => {
      stat(jsonl).then((s) => s.size > 0 && ac.abort(), () => undefined);
    }, 10);
    const summary = await run(long, { jsonl, signal: ac.signal, batch: 2 }).finally(() => clearInterval(poll));
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
    // Tracking off: this checks buffer reuse against the detector's raw output.
    const expected = await lastValueFrom(detect(faces, { batch: 1, track: false }).pipe(filter(isFrameRecord), toArray()));
    const jsonl = path.join(media.dir, 'pan.jsonl');
    const video = path.join(media.dir, 'pan-annotated.mp4');
    const summary = await run(faces, { jsonl, video, batch: 1, track: false });
    expect(summary.frames).to.equal(40);
    const lines = (await readFile(jsonl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'frame');
    expect(lines).to.have.length(expected.length);
    expect(expected.filter((fd) => fd.detections.length > 0).length).to.be.at.least(20); // faces on most frames
    lines.forEach((line, i) => {
      const want = expected[i].detections.map((d) => d.score.toFixed(4));
      expect(line.detections.map((d: { score: number }) => d.score.toFixed(4)), `frame ${i}`).to.deep.equal(want);
    });
  });
});
