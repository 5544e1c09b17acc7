import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { firstValueFrom, lastValueFrom, take, toArray, type Observable } from 'rxjs';
import { AbortedError, FfmpegError, InputError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { fileSource } from '../../src/sources/file-source.js';
import { FlowControl } from '../../src/sources/flow-control.js';
import { probeInput } from '../../src/sources/probe.js';
import { createTestMedia, type TestMedia } from '../helpers/media.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pids of ffmpeg processes that are children of this test process (Linux /proc). */
function childFfmpegPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === 'ffmpeg' && Number(fields[1]) === process.pid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

async function failure(obs: Observable<Frame>): Promise<unknown> {
  try {
    await lastValueFrom(obs);
  } catch (err) {
    return err;
  }
  throw new Error('expected the source to fail');
}

function pixel(f: Frame, x: number, y: number): number[] {
  const i = (y * f.width + x) * 3;
  return [f.data[i], f.data[i + 1], f.data[i + 2]];
}

describe('fileSource', function () {
  let media: TestMedia;
  let big: string; // 320x240, 200 frames: 46 MB of RGB, far more than pipe buffers hold

  before(async () => {
    media = await createTestMedia();
    big = await media.clip({ width: 320, height: 240, fps: 25, frames: 200, preset: 'ultrafast' });
  });
  after(async () => {
    await media.cleanup();
  });
  afterEach(async () => {
    expect(await waitFor(() => childFfmpegPids().length === 0, 3000), 'no ffmpeg left running').to.equal(true);
  });

  it('emits as many frames as ffprobe counts, in order, with seq, ptsMs and size', async () => {
    // Default x264 preset: B-frames, so decode order differs from presentation order.
    const file = await media.clip({ width: 64, height: 48, fps: 25, frames: 30 });
    const frames = await lastValueFrom(fileSource(file).pipe(toArray()));
    expect(frames).to.have.length(await media.countFrames(file));
    expect(frames).to.have.length((await probeInput(file)).frameCount!);
    frames.forEach((f, i) => {
      expect(f).to.include({ source: path.basename(file), seq: i, ptsMs: i * 40, width: 64, height: 48 });
      expect(f.data.length).to.equal(64 * 48 * 3);
    });
    // testsrc2 moves and counts seconds: the first and last frames differ.
    expect(Buffer.compare(frames[0].data, frames[29].data)).to.not.equal(0);
  });

  it('ptsMs follows a fractional rate, rounded to 3 decimals; sourceId overrides the name', async () => {
    const file = await media.clip({ width: 32, height: 24, fps: 30000 / 1001, frames: 4 });
    const frames = await lastValueFrom(fileSource(file, { sourceId: 'cam-1' }).pipe(toArray()));
    expect(frames.map((f) => f.ptsMs)).to.deep.equal([0, 33.367, 66.733, 100.1]);
    expect(frames.every((f) => f.source === 'cam-1')).to.equal(true);
  });

  it('decodes pixels as packed RGB, rows top to bottom: a red clip with a blue top-left quadrant', async () => {
    const file = await media.clip({ width: 64, height: 48, fps: 10, frames: 3, color: 'red', filters: 'drawbox=x=0:y=0:w=32:h=24:color=blue:t=fill' });
    const frames = await lastValueFrom(fileSource(file).pipe(toArray()));
    expect(frames).to.have.length(3);
    for (const f of frames) {
      for (const [x, y, rgb] of [[8, 8, [0, 0, 255]], [48, 8, [255, 0, 0]], [8, 40, [255, 0, 0]], [48, 40, [255, 0, 0]]] as const) {
        const got = pixel(f, x, y);
        got.forEach((v, c) => expect(Math.abs(v - rgb[c]), `(${x},${y}) = ${got}, want ≈ ${rgb}`).to.be.at.most(6));
      }
    }
  });

  for (const ext of ['jpg', 'png'] as const) {
    it(`a ${ext} gives exactly one frame`, async () => {
      const file = await media.still(ext, { width: 40, height: 30, color: 'lime' });
      const frames = await lastValueFrom(fileSource(file).pipe(toArray()));
      expect(frames).to.have.length(1);
      expect(frames[0]).to.include({ seq: 0, ptsMs: 0, width: 40, height: 30 });
      const [r, g, b] = pixel(frames[0], 20, 15);
      expect(r).to.be.at.most(6);
      expect(g).to.be.at.least(249);
      expect(b).to.be.at.most(6);
    });
  }

  it('turns a rotated phone clip upright: frames have the rotated size and turned pixels', async () => {
    const file = await media.clip({ width: 64, height: 48, fps: 10, frames: 5, rotate: 90 });
    const upright = await lastValueFrom(fileSource(file).pipe(toArray()));
    const raw = await lastValueFrom(fileSource(file.replace('-rot90', '')).pipe(toArray()));
    expect(upright).to.have.length(5);
    expect(upright[0]).to.include({ width: 48, height: 64 });
    // The file's display matrix (ffprobe: "rotation": 90) asks for a 90° counter-clockwise turn;
    // ffmpeg applies it: upright(x, y) = raw(W - 1 - y, x) with raw W = 64.
    const meanDiff = (map: (x: number, y: number) => [number, number]): number => {
      let sum = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 48; x++) {
          const [rx, ry] = map(x, y);
          const a = pixel(upright[2], x, y);
          const b = pixel(raw[2], rx, ry);
          sum += Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
        }
      }
      return sum / (48 * 64 * 3);
    };
    const counterClockwise = meanDiff((x, y) => [63 - y, x]);
    const clockwise = meanDiff((x, y) => [y, 47 - x]);
    expect(counterClockwise, `counter-clockwise ${counterClockwise} vs clockwise ${clockwise}`).to.be.below(3);
    expect(clockwise).to.be.above(20);
  });

  it('each subscription runs its own ffmpeg and gets the same frames', async () => {
    const file = await media.clip({ width: 32, height: 24, fps: 10, frames: 6 });
    const source = fileSource(file);
    const [a, b] = await Promise.all([lastValueFrom(source.pipe(toArray())), lastValueFrom(source.pipe(toArray()))]);
    expect(a).to.have.length(6);
    expect(b.map((f) => Buffer.from(f.data))).to.deep.equal(a.map((f) => Buffer.from(f.data)));
  });

  it('unsubscribing after 3 frames stops ffmpeg promptly and emits nothing more', async () => {
    let emitted = 0;
    let sawFfmpeg = 0;
    await new Promise<void>((resolve, reject) => {
      const sub = fileSource(big).subscribe({
        next: () => {
          emitted++;
          if (emitted === 3) {
            sawFfmpeg = childFfmpegPids().length;
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    expect(sawFfmpeg, 'ffmpeg was running at frame 3').to.equal(1);
    const t0 = Date.now();
    expect(await waitFor(() => childFfmpegPids().length === 0, 2000), 'ffmpeg gone').to.equal(true);
    const stopMs = Date.now() - t0;
    await sleep(200);
    expect(emitted).to.equal(3);
    expect(stopMs, 'stopped by q, well before the 1 s SIGTERM step').to.be.below(900);
  });

  it('with FlowControl(4) and no releases stops at 4 frames with ffmpeg blocked, then resumes to the end', async () => {
    const flow = new FlowControl(4);
    const frames: Frame[] = [];
    let maxPending = 0;
    let done!: () => void;
    let failed!: (e: unknown) => void;
    const finished = new Promise<void>((res, rej) => ((done = res), (failed = rej)));
    const sub = fileSource(big, { flow }).subscribe({
      next: (f) => {
        frames.push(f);
        maxPending = Math.max(maxPending, flow.pending);
      },
      error: (e) => failed(e),
      complete: () => done(),
    });
    try {
      await waitFor(() => frames.length >= 4, 5000);
      await sleep(500);
      expect(frames.length, 'emissions while saturated').to.equal(4);
      // 200 frames of 230 KB cannot fit in the pipes: a still-running ffmpeg means it is blocked, not buffered away.
      expect(childFfmpegPids(), 'ffmpeg still running, blocked on the pipe').to.have.length(1);

      // Release as the pipeline would: each frame a little after it arrives.
      flow.release(4);
      let released = 4;
      const releaser = setInterval(() => {
        const n = frames.length - released;
        if (n > 0) {
          flow.release(n);
          released += n;
        }
      }, 1);
      await finished;
      clearInterval(releaser);
    } finally {
      sub.unsubscribe();
    }
    expect(frames).to.have.length(200);
    expect(frames.map((f) => f.seq)).to.deep.equal([...Array(200).keys()]);
    expect(maxPending, 'never more than highWater in flight').to.equal(4);
  });

  it('aborting errors with AbortedError and stops ffmpeg', async () => {
    const ac = new AbortController();
    const obs = fileSource(big, { signal: ac.signal });
    const err = failure(obs.pipe(take(1000)));
    await sleep(100);
    ac.abort();
    expect(await err).to.be.instanceOf(AbortedError);
  });

  it('an ffmpeg killed mid-stream is an FfmpegError', async () => {
    const flow = new FlowControl(2);
    const err = failure(fileSource(big, { flow }));
    expect(await waitFor(() => flow.pending === 2, 5000)).to.equal(true);
    const [pid] = childFfmpegPids();
    process.kill(pid, 'SIGKILL');
    const e = await err;
    expect(e).to.be.instanceOf(FfmpegError);
    expect((e as Error).message).to.equal('ffmpeg was killed by SIGKILL');
  });

  describe('errors', () => {
    const cases: Array<[string, () => Promise<string>, string, RegExp]> = [
      ['a missing file', async () => path.join(media.dir, 'missing.mp4'), 'E_INPUT_NOT_FOUND', /^input not found: /],
      ['a text file', () => media.notAVideo(), 'E_INPUT_UNREADABLE', /Invalid data found when processing input$/],
      ['a truncated mp4 without its index', () => media.truncatedMp4(), 'E_INPUT_UNREADABLE', /^input unreadable: /],
      ['an audio-only file', () => media.audioOnly(), 'E_INPUT_UNREADABLE', /^input has no video stream: .*\(found: audio aac\)$/],
      ['an mp4 whose video stream has no decodable frame', () => media.headerOnlyMp4(), 'E_NO_FRAMES', /^no frames decoded from /],
    ];
    for (const [what, make, code, message] of cases) {
      it(`${what} is an InputError ${code}`, async () => {
        const err = await failure(fileSource(await make()));
        expect(err).to.be.instanceOf(InputError);
        expect(err).to.include({ code });
        expect((err as Error).message).to.match(message).and.not.contain('\n');
      });
    }

    it('with probing skipped (info given) an audio-only file is E_NO_FRAMES', async () => {
      const info = { width: 64, height: 48, fps: 25, frameCount: null, durationMs: null, codec: 'h264', isImage: false, audioCodec: null };
      const err = await failure(fileSource(await media.audioOnly(), { info }));
      expect(err).to.be.instanceOf(InputError).and.include({ code: 'E_NO_FRAMES' });
    });

    it('rejects a bad sourceId when built', () => {
      expect(() => fileSource('x.mp4', { sourceId: '' })).to.throw(/sourceId/);
    });

    it('an already aborted signal errors without starting anything', async () => {
      const ac = new AbortController();
      ac.abort();
      const err = await failure(fileSource(big, { signal: ac.signal }));
      expect(err).to.be.instanceOf(AbortedError);
    });
  });

  it('firstValueFrom takes one frame and tears ffmpeg down', async () => {
    const f = await firstValueFrom(fileSource(big));
    expect(f.seq).to.equal(0);
  });
});
