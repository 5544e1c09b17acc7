import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { cli, CLI, ffmpegPidsWithArg, requireBuiltCli, ROOT, type CliResult } from './helpers/cli.js';
import { createTestMedia, FFMPEG_BIN, FFPROBE_BIN, type TestMedia } from './helpers/media.js';

// End to end: the ssdpipe command (bin/ssdpipe, which runs the built dist/cli.js; npm test builds
// first) on media generated here with real ffmpeg.

const exec = promisify(execFile);
const require = createRequire(import.meta.url);
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).to.equal(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^ssdpipe: error: /).and.match(pattern);
  expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
  expect(r.stdout).to.equal('');
}

describe('ssdpipe CLI (end to end)', function () {
  this.timeout(180_000);
  let media: TestMedia;
  let faces: string;
  let longClip: Promise<string> | undefined;

  before(async () => {
    requireBuiltCli();
    media = await createTestMedia();
    // 15 frames at 10 fps of a demo photo with people, panning right by 8 px a frame.
    faces = path.join(media.dir, 'faces.mp4');
    await exec(FFMPEG_BIN, [
      '-hide_banner', '-loglevel', 'error', '-y', '-loop', '1', '-framerate', '10', '-i', PHOTO,
      '-vf', 'scale=1080:720,crop=960:640:x=8*n:y=40', '-frames:v', '15',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', faces,
    ]);
  });
  after(async () => {
    await media?.cleanup();
  });

  it('detect writes one JSONL line per frame with faces, an annotated MP4 and stats', async () => {
    const jsonl = path.join(media.dir, 'out', 'faces.jsonl');
    const video = path.join(media.dir, 'out', 'faces.mp4');
    const stats = path.join(media.dir, 'out', 'stats.json');
    const r = await cli(['detect', faces, '--jsonl', jsonl, '--video', video, '--stats', stats, '--batch', '4']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/15 frames in/);
    const records = (await readFile(jsonl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const lines = records.filter((r) => r.type === 'frame');
    expect(lines).to.have.length(await media.countFrames(faces));
    const tracks = records.filter((r) => r.type === 'track');
    expect(tracks.length + lines.length, 'only frame and track records').to.equal(records.length);
    lines.forEach((rec, i) => {
      expect(rec).to.include({ type: 'frame', source: 'faces.mp4', frame: i, width: 960, height: 640 });
      expect(rec.pts_ms).to.be.closeTo(i * 100, 0.01);
      for (const d of rec.detections) {
        expect(d).to.include({ label: 'face', class_id: 1 });
        expect(d.track_id).to.be.a('number').and.satisfy(Number.isInteger).and.above(0);
        expect(d.confirmed).to.be.a('boolean');
        expect(d.score).to.be.within(0.1, 1);
        const [x1, y1, x2, y2] = d.bbox;
        expect(x1).to.be.at.least(0);
        expect(y1).to.be.at.least(0);
        expect(x2).to.be.above(x1).and.at.most(960);
        expect(y2).to.be.above(y1).and.at.most(640);
      }
    });
    // The photo has people: every frame has at least one face, and the pan moves them left.
    expect(lines.every((l) => l.detections.length >= 1)).to.equal(true);
    const firstX = Math.min(...lines[0].detections.map((d: { bbox: number[] }) => d.bbox[0]));
    const lastX = Math.min(...lines[14].detections.map((d: { bbox: number[] }) => d.bbox[0]));
    expect(firstX - lastX).to.be.within(14 * 8 - 20, 14 * 8 + 20);
    expect(await media.countFrames(video)).to.equal(15);
    const s = JSON.parse(await readFile(stats, 'utf8'));
    expect(s).to.include({ frames: 15, dropped: 0, model: 'face', ended: 'complete' });
    expect(s.stages.inference.p50).to.be.above(0);
  });

  it('runs node with the larger initial old space, as doctor reports', async () => {
    const r = await cli(['doctor']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^v8 heap: --initial-old-space-size=128 /m);
    // Run directly, without the launcher, doctor says the flag is missing and how to get it.
    const direct = await exec(process.execPath, [CLI, 'doctor'], { cwd: ROOT });
    expect(direct.stdout).to.match(/^v8 heap: default; the ssdpipe command \(bin\/ssdpipe\) adds --initial-old-space-size=128/m);
  });

  it('--jsonl - writes only JSON lines to stdout', async () => {
    const r = await cli(['detect', faces, '--jsonl', '-', '--no-track']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.have.length(15);
    for (const l of lines) {
      const rec = JSON.parse(l);
      expect(rec.type).to.equal('frame');
      for (const d of rec.detections) expect(d.track_id).to.equal(null);
    }
  });

  it('tracks: each face keeps one id across the pan; every confirmed track starts and ends once', async () => {
    const r = await cli(['detect', faces, '--jsonl', '-']);
    expect(r.code, r.stderr).to.equal(0);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const frames = records.filter((rec) => rec.type === 'frame');
    const tracks = records.filter((rec) => rec.type === 'track');
    const starts = tracks.filter((t) => t.event === 'start');
    const ends = tracks.filter((t) => t.event === 'end');
    expect(starts.length).to.be.at.least(1);
    expect(ends.map((t) => t.track_id).sort()).to.deep.equal(starts.map((t) => t.track_id).sort());
    for (const t of ends) {
      expect(t).to.include({ source: 'faces.mp4', label: 'face' });
      expect(t.last_frame).to.be.at.least(t.first_frame);
      expect(t.frames).to.be.within(1, t.last_frame - t.first_frame + 1);
      expect(t.bbox[2]).to.be.above(t.bbox[0]);
      // A start is written right after the frame where the track was confirmed, before later frames.
      const startAt = records.findIndex((rec) => rec.type === 'track' && rec.event === 'start' && rec.track_id === t.track_id);
      const framesBefore = records.slice(0, startAt).filter((rec) => rec.type === 'frame').length;
      expect(framesBefore - 1).to.be.at.least(t.first_frame);
    }
    // The same faces stay in view while the photo pans: ids of confirmed detections do not churn.
    const confirmedIds = new Set(frames.flatMap((f) => f.detections.filter((d: { confirmed: boolean }) => d.confirmed).map((d: { track_id: number }) => d.track_id)));
    expect(confirmedIds.size).to.equal(starts.length);
    expect(starts.length).to.be.at.most(frames[7].detections.length + 1);
  });

  it('detect on a still image gives one record', async () => {
    const r = await cli(['detect', PHOTO, '--jsonl', '-', '-q']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ width: 1920, height: 1280, frame: 0 });
    expect(lines[0].detections.length).to.be.at.least(1);
    expect(r.stderr).to.equal('');
  });

  it('--video <file>.jpg writes the annotated picture of a still image', async () => {
    const jpg = path.join(media.dir, 'out', 'photo.jpg');
    const r = await cli(['detect', PHOTO, '-q', '--video', jpg]);
    expect(r.code, r.stderr).to.equal(0);
    const { stdout } = await exec(FFPROBE_BIN, ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', jpg]);
    expect(stdout.trim()).to.equal('mjpeg,1920,1280');
  });

  it('a truncated input (faststart MP4 cut at 60%): the frames before the cut are processed, a warning says so, exit 0', async () => {
    const full = await media.clip({ width: 320, height: 240, fps: 25, frames: 75, preset: 'ultrafast', name: 'to-cut.mp4' });
    const bytes = await readFile(full);
    const cut = path.join(media.dir, 'cut.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const stats = path.join(media.dir, 'cut-stats.json');
    const r = await cli(['detect', cut, '-q', '--jsonl', '-', '--stats', stats]);
    expect(r.code, r.stderr).to.equal(0);
    const decodable = await media.countFrames(cut);
    expect(decodable).to.be.within(10, 70);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'frame')).to.have.length(decodable);
    const s = JSON.parse(await readFile(stats, 'utf8'));
    expect(s.inputs[0]).to.include({ source: 'cut.mp4', declared_frames: 75, decoded_frames: decodable, truncated: true });
    expect(r.stderr).to.equal(`ssdpipe: warning: cut.mp4 is truncated: ${decodable} of the 75 frames its container declares were decoded; the file ends early (cut off or not finished writing)\n`);
  });

  it('a variable-rate phone clip with rotation metadata: container pts_ms, upright frames, an upright annotated MP4', async () => {
    const vfr = path.join(media.dir, 'phone-vfr.mp4');
    const phone = path.join(media.dir, 'phone.mp4');
    const ff = (args: string[]): Promise<unknown> => exec(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
    await ff(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-vf', "select='lt(n,10)+not(mod(n,5))'", '-vsync', 'vfr', '-frames:v', '20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', vfr]);
    await ff(['-i', vfr, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', phone]);
    const probeCsv = async (args: string[], file: string): Promise<string> => (await exec(FFPROBE_BIN, ['-v', 'error', '-select_streams', 'v:0', ...args, '-of', 'csv=p=0', file])).stdout;
    const times = (await probeCsv(['-show_entries', 'frame=best_effort_timestamp_time'], phone)).split('\n').map((t) => t.replace(/,$/, '').trim()).filter(Boolean).map((t) => Math.round(Number(t) * 1e6) / 1e3);
    const out = path.join(media.dir, 'phone-annotated.mp4');
    const r = await cli(['detect', phone, '-q', '--jsonl', '-', '--video', out, '--no-track']);
    expect(r.code, r.stderr).to.equal(0);
    const frames = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(frames.map((f) => f.pts_ms)).to.deep.equal(times);
    expect(times.slice(9, 12)).to.deep.equal([360, 400, 600]); // the gaps are there
    for (const f of frames) expect(f).to.include({ width: 120, height: 160 });
    // The annotated video is upright as stored: 120x160, no rotation left for a player to apply.
    expect((await probeCsv(['-show_entries', 'stream=width,height:stream_tags=rotate:stream_side_data=rotation'], out)).trim()).to.equal('120,160');
    const upright = async (file: string): Promise<Buffer> =>
      (await exec(FFMPEG_BIN, ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { encoding: 'buffer' })).stdout;
    const [a, b] = [await upright(phone), await upright(out)];
    expect(a.length).to.equal(120 * 160);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
    expect(diff / a.length, 'the annotated frame matches the upright input frame').to.be.below(6);
  });

  describe('bad input: one-line error, the documented exit code (README, Exit codes), nothing on stdout', () => {
    it('missing file: 3', async () => {
      expectOneLineError(await cli(['detect', path.join(media.dir, 'nope.mp4'), '--jsonl', '-']), 3, /input not found: .*nope\.mp4/);
    });
    it('a text file named .mp4: 3', async () => {
      expectOneLineError(await cli(['detect', await media.notAVideo(), '--jsonl', '-']), 3, /input unreadable: .*not-a-video/);
    });
    it('an mp4 cut in half with its index at the end (nothing decodable): 3', async () => {
      expectOneLineError(await cli(['detect', await media.truncatedMp4(), '--jsonl', '-']), 3, /input unreadable: .*truncated-\d+\.mp4: the MP4 has no index \(moov atom not found\)/);
    });
    it('an audio-only file: 3', async () => {
      expectOneLineError(await cli(['detect', await media.audioOnly(), '--jsonl', '-']), 3, /no video stream.*found: audio aac/);
    });
    it('a directory, a zero-length file: 3', async () => {
      expectOneLineError(await cli(['detect', media.dir, '--jsonl', '-']), 3, /input unreadable: .* is a directory/);
      const empty = path.join(media.dir, 'empty.mp4');
      await writeFile(empty, '');
      expectOneLineError(await cli(['detect', empty, '--jsonl', '-']), 3, /input unreadable: .*empty\.mp4 is empty \(0 bytes\)/);
    });
    it('a video stream with no decodable picture: 4', async () => {
      expectOneLineError(await cli(['detect', await media.headerOnlyMp4(), '--jsonl', '-']), 4, /no frames decoded/);
    });
    it('bad option values: 2; a missing model: 5', async () => {
      expectOneLineError(await cli(['detect', faces, '--jsonl', '-', '--score', '2']), 2, /--score/);
      expectOneLineError(await cli(['detect', faces, '--jsonl', '-', '--batch', '0']), 2, /--batch/);
      expectOneLineError(await cli(['detect', faces, '--jsonl', '-', '--batch', 'many']), 2, /--batch/);
      expectOneLineError(await cli(['detect', faces, '--jsonl', '-', '--engine', 'magic']), 2, /engine/);
      expectOneLineError(await cli(['detect', faces, '--jsonl', '-', '--model', 'nope']), 5, /model/);
    });
    it('an output path equal to the input is refused and the input kept: 2', async () => {
      const copy = path.join(media.dir, 'copy.mp4');
      await writeFile(copy, await readFile(faces));
      expectOneLineError(await cli(['detect', copy, '--video', copy]), 2, /--video/);
      expect(await media.countFrames(copy)).to.equal(15);
    });
    it('an unwritable output keeps the existing file: 6', async () => {
      const blocker = path.join(media.dir, 'blocker');
      await writeFile(blocker, 'keep');
      expectOneLineError(await cli(['detect', faces, '--jsonl', path.join(blocker, 'x.jsonl')]), 6, /x\.jsonl/);
      expect(await readFile(blocker, 'utf8')).to.equal('keep');
    });
    it('unwritable output places fail at once, before decoding: 6', async () => {
      for (const args of [['--video', '/proc/nowrite/out.mp4'], ['--stats', '/sys/x.json'], ['--jsonl', '/proc/nowrite/x.jsonl']]) {
        const t0 = Date.now();
        const r = await cli(['detect', faces, ...args]);
        expectOneLineError(r, 6, new RegExp(`cannot write ${args[0]} ${args[1]}: /(proc|sys) is on (proc|sysfs)`));
        expect(Date.now() - t0, args.join(' ')).to.be.below(3000);
      }
    });
    it('a full disk (/dev/full) names the real cause: 6', async () => {
      for (const flag of ['--jsonl', '--video']) {
        const r = await cli(['detect', faces, '-q', flag, '/dev/full']);
        expectOneLineError(r, 6, new RegExp(`^ssdpipe: error: writing ${flag} /dev/full failed: no space left on device \\(ENOSPC\\)`));
      }
    });
    it('outputs follow their extension or are refused: 2', async () => {
      expectOneLineError(await cli(['detect', faces, '--stats', path.join(media.dir, 'stats.txt')]), 2, /--stats: expected a \.json file/);
      expectOneLineError(await cli(['detect', faces, '--video', path.join(media.dir, 'out.avi')]), 2, /--video: expected a \.mp4, \.m4v or \.mov file/);
      expectOneLineError(await cli(['detect', faces, '-q', '--video', path.join(media.dir, 'out.jpg')]), 2, /--video: expected a \.mp4, \.m4v or \.mov file for a video input/);
    });
    it('--debug and SSDPIPE_DEBUG=1 add the stack and the cause chain after the one line, same exit code', async () => {
      const missing = path.join(media.dir, 'nope.mp4');
      for (const r of [await cli(['detect', missing, '--jsonl', '-', '--debug']), await cli(['--debug', 'detect', missing, '--jsonl', '-']), await cli(['detect', missing, '--jsonl', '-'], { env: { SSDPIPE_DEBUG: '1' } })]) {
        expect(r.code, r.stderr).to.equal(3);
        const lines = r.stderr.trim().split('\n');
        expect(lines[0]).to.match(/^ssdpipe: error: input not found/);
        expect(lines[1]).to.equal(`InputError: input not found: ${missing}`);
        expect(r.stderr).to.match(/\n\s+at /).and.match(/\ncaused by: Error: ENOENT: no such file or directory/);
      }
      expect((await cli(['detect', missing, '--jsonl', '-'], { env: { SSDPIPE_DEBUG: '0' } })).stderr.trim().split('\n')).to.have.length(1);
    });
  });

  it('SIGKILL mid-run: no ffmpeg outlives ssdpipe, and every JSONL line is complete JSON', async () => {
    longClip ??= media.clip({ width: 640, height: 360, fps: 25, frames: 1500, preset: 'ultrafast', name: 'long.mp4' });
    const long = await longClip;
    const jsonl = path.join(media.dir, 'killed.jsonl');
    const video = path.join(media.dir, 'killed.mp4');
    const run = cli(['detect', long, '-q', '--jsonl', jsonl, '--video', video]);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await readFile(jsonl, 'utf8').catch(() => '')).split('\n').length <= 10) await sleep(20);
    const ffmpegs = (): number[] => ffmpegPidsWithArg(long, video); // the decoder reads one, the encoder writes the other
    expect(ffmpegs().length, 'the decoder and the encoder run').to.be.at.least(2);
    run.child.kill('SIGKILL');
    expect((await run).code).to.equal(null);
    await sleep(2000);
    expect(ffmpegs(), 'ffmpeg processes still alive 2 s after ssdpipe was killed').to.deep.equal([]);
    const text = await readFile(jsonl, 'utf8');
    expect(text.endsWith('\n')).to.equal(true);
    const lines = text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
    expect(lines.length).to.be.at.least(10);
    lines.forEach((l, i) => expect(l).to.include({ type: 'frame', frame: i }));
  });

  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${sig} stops within 2 s with whole JSONL lines and a playable MP4, exit ${code}`, async () => {
      longClip ??= media.clip({ width: 640, height: 360, fps: 25, frames: 1500, preset: 'ultrafast', name: 'long.mp4' });
      const long = await longClip;
      const jsonl = path.join(media.dir, `${sig}.jsonl`);
      const video = path.join(media.dir, `${sig}.mp4`);
      let signalledAt = 0;
      const run = cli(['detect', long, '--jsonl', '-', '--video', video], {
        onStdout: (s) => {
          if (!signalledAt && s.split('\n').length > 10) {
            signalledAt = Date.now();
            run.child.kill(sig);
          }
        },
      });
      const r = await run;
      const stoppedMs = Date.now() - signalledAt;
      expect(signalledAt, 'the run never produced 10 lines').to.be.above(0);
      expect(stoppedMs).to.be.below(2000);
      expect(r.code, r.stderr).to.equal(code);
      expect(r.stdout.endsWith('\n')).to.equal(true);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      lines.forEach((l, i) => expect(l.frame).to.equal(i));
      expect(lines.length).to.be.below(1500);
      await writeFile(jsonl, r.stdout);
      expect(await media.countFrames(video)).to.equal(lines.length);
    });
  }
});
