import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Subscription } from 'rxjs';
import { SsdpipeError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { isStatusRecord, liveSource, type LiveEvent, type LiveSourceOptions } from '../../src/sources/live-source.js';
import { seededRandom, type SourceState, type StatusRecord } from '../../src/sources/reconnect-policy.js';
import { createTestMedia, FFMPEG_BIN, FFPROBE_BIN } from '../helpers/media.js';
import { MjpegTestServer } from '../helpers/mjpeg-server.js';
import { RtspTestServer, skipUnlessRtspServer } from '../helpers/rtsp-server.js';

/** Short timeouts and backoff so each scenario takes seconds. */
const FAST: LiveSourceOptions = {
  stallTimeoutMs: 1500,
  probeTimeoutMs: 4000,
  ioTimeoutMs: 3000,
  reconnect: { initialMs: 100, maxMs: 400, random: seededRandom(7) },
};

/** The ffmpeg builds to run against: the bundled 2018 one, and the system 5.x when installed. */
const BUILDS: Array<{ name: string; ffmpegPath: string; ffprobePath: string }> = [
  { name: 'bundled 2018 ffmpeg', ffmpegPath: FFMPEG_BIN, ffprobePath: FFPROBE_BIN },
];
if (existsSync('/usr/bin/ffmpeg') && existsSync('/usr/bin/ffprobe')) {
  BUILDS.push({ name: 'system ffmpeg', ffmpegPath: '/usr/bin/ffmpeg', ffprobePath: '/usr/bin/ffprobe' });
}

/** Everything a subscription delivered, and a way to wait for a condition on it. */
class Recorder {
  readonly events: LiveEvent[] = [];
  error: unknown = undefined;
  completed = false;
  private readonly sub: Subscription;
  private checks: Array<() => void> = [];

  constructor(source: ReturnType<typeof liveSource>) {
    this.sub = source.subscribe({
      next: (e) => {
        this.events.push(e);
        this.poke();
      },
      error: (err: unknown) => {
        this.error = err;
        this.poke();
      },
      complete: () => {
        this.completed = true;
        this.poke();
      },
    });
  }

  get frames(): Frame[] {
    return this.events.filter((e): e is Frame => !isStatusRecord(e));
  }

  get records(): StatusRecord[] {
    return this.events.filter(isStatusRecord);
  }

  get states(): SourceState[] {
    return this.records.map((r) => r.state);
  }

  /** Resolves once `ok()` holds; rejects after ms, or at once if the source errored. */
  until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.error !== undefined) done(new Error(`source errored while waiting for ${what}: ${String(this.error)}`));
        else if (ok()) done();
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${what}; states: ${this.states.join(' ')}; frames: ${this.frames.length}`)), ms);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.checks = this.checks.filter((c) => c !== check);
        if (err) reject(err);
        else resolve();
      };
      this.checks.push(check);
      check();
    });
  }

  /** Resolves once n more frames arrived than now. */
  moreFrames(n: number, ms?: number): Promise<void> {
    const target = this.frames.length + n;
    return this.until(`${n} more frames`, () => this.frames.length >= target, ms);
  }

  unsubscribe(): void {
    this.sub.unsubscribe();
  }

  private poke(): void {
    for (const c of [...this.checks]) c();
  }
}

/** ffmpeg and ffprobe processes whose parent is this test process (Linux /proc). */
function ownFfmpegChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && Number(m[2]) === process.pid && /^ff(mpeg|probe)$/.test(m[1])) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

async function noFfmpegWithin(ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (ownFfmpegChildren().length > 0) {
    if (Date.now() > deadline) throw new Error(`ffmpeg still running ${ms} ms after teardown: ${ownFfmpegChildren().join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectIncreasingSeq(frames: Frame[]): void {
  for (let i = 1; i < frames.length; i++) expect(frames[i].seq, `seq at ${i}`).to.equal(frames[i - 1].seq + 1);
}

describe('liveSource', function () {
  this.timeout(60_000);

  it('rejects standard input and bad options when built', () => {
    expect(() => liveSource('-')).to.throw(SsdpipeError, /standard input|camera URL/);
    expect(() => liveSource('rtsp://cam/s', { stallTimeoutMs: 0 })).to.throw(SsdpipeError, /--stall-timeout/);
    expect(() => liveSource('rtsp://cam/s', { reconnect: { maxRetries: -1 } })).to.throw(SsdpipeError, /--max-retries/);
    expect(() => liveSource('rtsp://cam/s', { rtspTransport: 'http' as never })).to.throw(SsdpipeError, /--rtsp-transport/);
  });

  it('errors (rather than retrying forever) when ffmpeg cannot run', async () => {
    for (const options of [{ ffmpegPath: '/no/such/ffmpeg' }, { ffprobePath: '/no/such/ffprobe' }]) {
      const rec = new Recorder(liveSource('rtsp://127.0.0.1:9/s', { ...FAST, ...options }));
      try {
        await rec.until('the error', () => rec.error !== undefined || rec.completed).catch(() => undefined);
        expect(rec.error).to.be.instanceOf(SsdpipeError).and.to.include({ code: 'E_FFMPEG_NOT_FOUND' });
        expect(rec.states).to.deep.equal(['connecting']);
      } finally {
        rec.unsubscribe();
      }
    }
  });

  it('a file is a finite input: its frames, then ended, then complete', async () => {
    const media = await createTestMedia();
    try {
      const clip = await media.clip({ width: 64, height: 48, fps: 25, frames: 10, preset: 'ultrafast' });
      const rec = new Recorder(liveSource(clip, { ...FAST, name: 'clip' }));
      await rec.until('complete', () => rec.completed);
      expect(rec.frames).to.have.length(10);
      expect(rec.states).to.deep.equal(['connecting', 'streaming', 'ended']);
      expect(rec.records[2].reason).to.equal('stream ended');
      expect(rec.frames[0]).to.include({ source: 'clip', width: 64, height: 48 });
    } finally {
      await media.cleanup();
    }
  });

  describe('against a real RTSP server', function () {
    before(async function () {
      await skipUnlessRtspServer(this);
    });
    let server: RtspTestServer | undefined;
    let rec: Recorder | undefined;
    afterEach(async () => {
      rec?.unsubscribe();
      rec = undefined;
      await server?.stop();
      server = undefined;
    });

    for (const build of BUILDS) {
      it(`${build.name}: frames arrive with wallMs, and unsubscribing stops ffmpeg within 2 s`, async () => {
        server = await RtspTestServer.start({ width: 160, height: 120, fps: 25 });
        const before = Date.now();
        rec = new Recorder(liveSource(server.url, { ...FAST, ffmpegPath: build.ffmpegPath, ffprobePath: build.ffprobePath }));
        await rec.until('25 frames', () => rec!.frames.length >= 25);
        expect(rec.states).to.deep.equal(['connecting', 'streaming']);
        expect(rec.records[1].media).to.deep.equal({ width: 160, height: 120, fps: 25, codec: 'h264' });
        const frames = rec.frames;
        expect(frames[0]).to.include({ source: `rtsp://127.0.0.1:${server.port}/test`, seq: 0, ptsMs: 0, width: 160, height: 120 });
        for (const f of frames) {
          expect(f.data.length).to.equal(160 * 120 * 3);
          expect(f.wallMs).to.be.within(before, Date.now());
        }
        expectIncreasingSeq(frames);
        expect(frames[24].ptsMs).to.be.above(frames[0].ptsMs);
        // The pattern moves: two frames a few apart differ.
        expect(Buffer.compare(Buffer.from(frames[20].data), Buffer.from(frames[24].data))).to.not.equal(0);

        expect(ownFfmpegChildren()).to.have.length(1);
        const t0 = performance.now();
        rec.unsubscribe();
        await noFfmpegWithin(2000);
        expect(performance.now() - t0).to.be.below(2000);
      });

      it(`${build.name}: server killed mid-stream and restarted: reconnects and carries on`, async () => {
        server = await RtspTestServer.start({ width: 160, height: 120 });
        rec = new Recorder(liveSource(server.url, { ...FAST, ffmpegPath: build.ffmpegPath, ffprobePath: build.ffprobePath }));
        await rec.until('10 frames', () => rec!.frames.length >= 10);
        await server.kill();
        await rec.until('reconnecting', () => rec!.states.includes('reconnecting'));
        await new Promise((r) => setTimeout(r, 600)); // a few refused attempts while it is down
        await server.restart();
        await rec.moreFrames(10);
        expect(rec.error).to.equal(undefined);
        expect(rec.completed).to.equal(false);
        const states = rec.states;
        expect(states.slice(0, 3)).to.deep.equal(['connecting', 'streaming', 'reconnecting']);
        expect(states[states.length - 1]).to.equal('streaming');
        expect(states.filter((s) => s === 'streaming')).to.have.length(2);
        const failures = rec.records.filter((r) => r.state === 'reconnecting');
        expect(failures.map((r) => r.attempt)).to.deep.equal(failures.map((_, i) => i + 1));
        expect(failures.every((r) => typeof r.reason === 'string' && r.reason.length > 0)).to.equal(true);
        expectIncreasingSeq(rec.frames);
      });
    }

    it('a server that stops sending triggers the stall timeout, then a reconnect', async () => {
      server = await RtspTestServer.start({ width: 160, height: 120 });
      rec = new Recorder(liveSource(server.url, { ...FAST, stallTimeoutMs: 1000, probeTimeoutMs: 1500 }));
      await rec.until('10 frames', () => rec!.frames.length >= 10);
      const stalledAt = Date.now();
      await server.stall();
      await rec.until('stalled', () => rec!.states.includes('stalled'));
      const stalled = rec.records.find((r) => r.state === 'stalled')!;
      expect(stalled.reason).to.equal('no frame for 1000 ms');
      expect(Date.parse(stalled.time) - stalledAt).to.be.within(900, 3000);
      expect(rec.states[rec.states.indexOf('stalled') + 1]).to.equal('reconnecting');
      await server.resume();
      await rec.until('streaming again', () => rec!.states.filter((s) => s === 'streaming').length >= 2);
      await rec.moreFrames(5);
      expect(rec.error).to.equal(undefined);
    });

    it('a resolution change across a reconnect flows downstream', async () => {
      server = await RtspTestServer.start({ width: 160, height: 120 });
      rec = new Recorder(liveSource(server.url, FAST));
      await rec.until('5 frames', () => rec!.frames.length >= 5);
      await server.restart({ width: 320, height: 240 });
      await rec.until('a 320x240 frame', () => rec!.frames.some((f) => f.width === 320));
      await rec.moreFrames(5);
      const frames = rec.frames;
      const firstBig = frames.findIndex((f) => f.width === 320);
      expect(frames.slice(0, firstBig).every((f) => f.width === 160 && f.height === 120 && f.data.length === 160 * 120 * 3)).to.equal(true);
      expect(frames.slice(firstBig).every((f) => f.width === 320 && f.height === 240 && f.data.length === 320 * 240 * 3)).to.equal(true);
      const streaming = rec.records.filter((r) => r.state === 'streaming');
      expect(streaming.map((r) => `${r.media?.width}x${r.media?.height}`)).to.deep.equal(['160x120', '320x240']);
      expectIncreasingSeq(frames);
    });

    it('credentials never reach a record, a frame or an error, even when they are wrong', async () => {
      const user = 'operator7';
      const password = 'Tr0ub4dor&3';
      server = await RtspTestServer.start({ width: 160, height: 120, user, password });
      expect(server.url).to.contain(encodeURIComponent(password));

      rec = new Recorder(liveSource(server.url, FAST));
      await rec.until('5 frames', () => rec!.frames.length >= 5);
      await server.kill(); // a failure reason from ffmpeg, which prints the URL it opened
      await rec.until('reconnecting', () => rec!.states.includes('reconnecting'));
      const good = rec;
      rec.unsubscribe();
      await server.restart();

      const wrong = server.url.replace(encodeURIComponent(password), 'wrong-s3cret');
      rec = new Recorder(liveSource(wrong, { ...FAST, reconnect: { ...FAST.reconnect, maxRetries: 1 } }));
      await rec.until('offline', () => rec!.completed);
      expect(rec.states).to.deep.equal(['connecting', 'reconnecting', 'connecting', 'offline']);
      expect(rec.records[1].reason).to.match(/401|Unauthorized|authorization/i);

      const everything = JSON.stringify([...good.records, ...rec.records, ...good.frames.map((f) => f.source)]);
      for (const secret of [user, password, encodeURIComponent(password), 'wrong-s3cret']) {
        expect(everything, secret).to.not.contain(secret);
      }
      expect(good.records[0].source).to.equal(`rtsp://127.0.0.1:${server.port}/test`);
    });

    it('an abort ends the source with an ended record', async () => {
      server = await RtspTestServer.start({ width: 160, height: 120 });
      const ac = new AbortController();
      rec = new Recorder(liveSource(server.url, { ...FAST, name: 'front door', signal: ac.signal }));
      await rec.until('3 frames', () => rec!.frames.length >= 3);
      ac.abort();
      await rec.until('complete', () => rec!.completed);
      expect(rec.records[rec.records.length - 1]).to.include({ source: 'front door', state: 'ended', reason: 'stopped' });
      await noFfmpegWithin(2000);
    });
  });

  describe('against an HTTP MJPEG server', () => {
    let server: MjpegTestServer | undefined;
    let rec: Recorder | undefined;
    afterEach(async () => {
      rec?.unsubscribe();
      await server?.stop();
    });

    for (const build of BUILDS) {
      it(`${build.name}: frames, then a drop and a comeback at another size`, async () => {
        server = await MjpegTestServer.start({ width: 160, height: 120, fps: 25 });
        rec = new Recorder(liveSource(server.url, { ...FAST, ffmpegPath: build.ffmpegPath, ffprobePath: build.ffprobePath }));
        await rec.until('10 frames', () => rec!.frames.length >= 10);
        expect(rec.frames[0]).to.include({ width: 160, height: 120 });
        await server.kill();
        await rec.until('reconnecting', () => rec!.states.includes('reconnecting'));
        await server.restart({ width: 96, height: 64 });
        await rec.until('a 96x64 frame', () => rec!.frames.some((f) => f.width === 96));
        await rec.moreFrames(5);
        expect(rec.frames[rec.frames.length - 1].data.length).to.equal(96 * 64 * 3);
        expect(rec.error).to.equal(undefined);
        expectIncreasingSeq(rec.frames);
      });
    }
  });
});
