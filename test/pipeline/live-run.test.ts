import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../src/pipeline/run.js';
import { createTestMedia, type TestMedia } from '../helpers/media.js';
import { RtspTestServer, skipUnlessRtspServer } from '../helpers/rtsp-server.js';

// Two cameras (test RTSP servers on 127.0.0.1) and a file through one run: frames of all sources
// are batched through one model and routed back; a camera killed and restarted mid-run is
// reconnected without stopping the run; credentials never reach an output.
describe('pipeline/run: live sources', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let camA: RtspTestServer | undefined;
  let camB: RtspTestServer | undefined;

  before(async function () {
    await skipUnlessRtspServer(this);
    media = await createTestMedia();
    camA = await RtspTestServer.start({ width: 320, height: 240, fps: 15 });
    camB = await RtspTestServer.start({ width: 256, height: 192, fps: 15, user: 'admin', password: 's3cr3t-pw' });
  });
  after(async () => {
    await camA?.stop();
    await camB?.stop();
    await media?.cleanup();
  });

  it('two cameras and a file in one run: routed by source, reconnects, status records, no credentials', async () => {
    const clip = await media.clip({ width: 320, height: 180, fps: 25, frames: 20 });
    const all = path.join(media.dir, 'live', 'all.jsonl');
    const own = path.join(media.dir, 'live', 'b.jsonl');
    const stats = path.join(media.dir, 'live', 'stats.json');
    // Once camera A's frames reach the JSONL, kill it and bring it back at another size.
    const restart = (async () => {
      const t0 = Date.now();
      while (Date.now() - t0 < 10_000) {
        await new Promise((r) => setTimeout(r, 200));
        const text = await readFile(all, 'utf8').catch(() => '');
        if (text.split('\n').filter((l) => l.includes('"type":"frame"') && l.includes('"source":"cam-a"')).length >= 5) break;
      }
      await camA!.kill();
      await new Promise((r) => setTimeout(r, 1000));
      await camA!.restart({ width: 352, height: 288 });
    })();
    const summary = await run(
      [
        { name: 'cam-a', input: camA!.url },
        { input: camB!.url, outputs: { jsonl: own } },
        clip,
      ],
      { jsonl: all, stats, duration: 18, stallTimeout: 2, batch: 2, maxWaitMs: 20 },
    );
    await restart;
    const text = await readFile(all, 'utf8');
    const records = text.trim().split('\n').map((l) => JSON.parse(l));
    const bId = camB!.url.replace('admin:s3cr3t-pw@', '');
    expect(summary.ended).to.equal('duration');
    expect(summary.sources).to.deep.equal(['cam-a', bId, path.basename(clip)]);

    // Every source's frames, each in its own order, sizes as each source delivers them.
    const frames = (id: string) => records.filter((r) => r.type === 'frame' && r.source === id);
    expect(frames(path.basename(clip)).map((r) => r.frame)).to.deep.equal([...Array(20).keys()]);
    expect(frames('cam-a').length).to.be.above(10);
    expect(frames(bId).length).to.be.above(10);
    for (const f of frames(bId)) expect([f.width, f.height]).to.deep.equal([256, 192]);
    const aSizes = new Set(frames('cam-a').map((f) => `${f.width}x${f.height}`));
    expect([...aSizes]).to.include.members(['320x240', '352x288']);
    for (const f of [...frames('cam-a'), ...frames(bId)]) expect(f.wall_ms).to.be.a('number');
    expect(frames(path.basename(clip))[0]).to.not.have.property('wall_ms');

    // Camera A went through a reconnect; both report status records with ISO times.
    const states = (id: string) => records.filter((r) => r.type === 'status' && r.source === id).map((r) => r.state);
    expect(states('cam-a')).to.include.members(['connecting', 'streaming', 'reconnecting']);
    expect(states('cam-a').filter((s) => s === 'streaming').length).to.be.at.least(2);
    expect(states(bId)).to.include('streaming');
    for (const r of records.filter((x) => x.type === 'status')) expect(new Date(r.time).toISOString()).to.equal(r.time);

    // The source's own JSONL holds its records only; credentials are nowhere.
    const ownRecords = (await readFile(own, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(new Set(ownRecords.map((r) => r.source))).to.deep.equal(new Set([bId]));
    const statsText = await readFile(stats, 'utf8');
    for (const out of [text, statsText, JSON.stringify(summary)]) {
      expect(out).to.not.include('s3cr3t-pw');
      expect(out).to.not.include('admin:');
    }
    const a = summary.per_source.find((p) => p.source === 'cam-a')!;
    expect(a.reconnects).to.be.at.least(1);
    expect(a.age_ms!.p95).to.be.a('number').and.below(5000);
  });
});

describe('ssdpipe detect on a camera (CLI)', function () {
  this.timeout(60_000);
  let cam: RtspTestServer | undefined;
  before(async function () {
    await skipUnlessRtspServer(this);
    cam = await RtspTestServer.start({ width: 320, height: 240, fps: 15, user: 'op', password: 'cli-secret' });
  });
  after(async () => {
    await cam?.stop();
  });

  it('runs until SIGINT, then stops every ffmpeg within 2 s, exit 130, no credentials in any output', async () => {
    const bin = path.resolve('bin', 'ssdpipe');
    const child = spawn(bin, ['detect', cam!.url, '--jsonl', '-', '--stall-timeout', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!out.includes('"type":"frame"') && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    expect(out, err).to.include('"type":"frame"');
    const ffmpegs = (): string[] =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`127.0.0.1:${cam!.port}`) && !l.includes('ps -eo'));
    expect(ffmpegs().length, 'an ffmpeg reads the camera').to.be.at.least(1);
    const signalledAt = Date.now();
    child.kill('SIGINT');
    expect(await exited).to.equal(130);
    expect(Date.now() - signalledAt).to.be.below(2000);
    expect(ffmpegs(), 'no ffmpeg left').to.deep.equal([]);
    const records = out.trim().split('\n').map((l) => JSON.parse(l));
    const source = `rtsp://127.0.0.1:${cam!.port}/test`;
    expect(records.find((r) => r.type === 'status' && r.state === 'streaming')).to.include({ source });
    expect(records.filter((r) => r.type === 'status').at(-1)).to.include({ source, state: 'ended' });
    for (const text of [out, err]) expect(text).to.not.include('cli-secret');
  });
});
