import { expect } from 'chai';
import { AbortedError, exitCodeFor, FfmpegError, SsdpipeError } from '../../src/errors.js';
import { passthroughSyncArgs } from '../../src/sources/ffmpeg-args.js';
import { ffmpegVersion, runFfprobe, spawnFfmpeg, STDERR_TAIL_CHARS } from '../../src/ffmpeg/ffmpeg-process.js';

/** ffmpeg args for an endless 32x24 RGB24 test pattern on stdout. */
const ENDLESS = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=32x24:rate=25', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('ffmpeg-process', () => {
  it('streams stdout and resolves done on exit 0', async () => {
    const proc = spawnFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=32x24:rate=25', '-frames:v', '10', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdin: 'ignore' });
    expect(proc.pid).to.be.a('number');
    expect(proc.stdin).to.equal(null);
    let bytes = 0;
    proc.stdout.on('data', (c: Buffer) => (bytes += c.length));
    await proc.done;
    expect(bytes).to.equal(10 * 32 * 24 * 3);
    expect(alive(proc.pid)).to.equal(false);
  });

  it('turns a non-zero exit into an FfmpegError whose message ends with the last stderr line', async () => {
    const proc = spawnFfmpeg(['-hide_banner', '-i', '/no/such/input.mp4', '-f', 'null', '-']);
    const err = await rejection(proc.done);
    expect(err).to.be.instanceOf(FfmpegError);
    expect(err).to.include({ code: 'E_FFMPEG' });
    expect((err as Error).message).to.equal('ffmpeg exited with code 1: /no/such/input.mp4: No such file or directory');
    expect((err as FfmpegError).stderrTail).to.contain('No such file or directory');
    expect(proc.stderrTail()).to.equal((err as FfmpegError).stderrTail);
    expect((err as FfmpegError).during, 'no stage unless the caller says').to.equal(undefined);
  });

  it('the FfmpegError carries what the process was doing, which decides the exit code', async () => {
    const err = await rejection(spawnFfmpeg(['-hide_banner', '-i', '/no/such/input.mp4', '-f', 'null', '-'], { during: 'decoding' }).done);
    expect(err).to.be.instanceOf(FfmpegError).and.include({ during: 'decoding' });
    expect(exitCodeFor(err as FfmpegError)).to.equal(4);
    const probe = await rejection(runFfprobe(['-v', 'error', '/no/such/file.mp4']));
    expect(probe).to.include({ during: 'probing' });
    expect(exitCodeFor(probe as FfmpegError)).to.equal(1);
  });

  it(`keeps only the last ${STDERR_TAIL_CHARS} characters of stderr`, async () => {
    // showinfo logs a ~200-character line per frame: 100 frames write about 20 KB to stderr.
    const proc = spawnFfmpeg(['-hide_banner', '-loglevel', 'info', '-f', 'lavfi', '-i', 'testsrc2=size=32x24', '-frames:v', '100', '-vf', 'showinfo', '-f', 'null', '-'], { stdin: 'ignore' });
    await proc.done;
    const tail = proc.stderrTail();
    expect(tail.length).to.equal(STDERR_TAIL_CHARS);
    expect(tail).to.contain('n:  99'); // the last frame's line is kept
    expect(tail).to.not.contain('n:   0'); // the first one is not
  });

  it('stop() ends a running ffmpeg with q even while nobody reads stdout', async () => {
    const proc = spawnFfmpeg(ENDLESS, { graceMs: 3000 });
    // Never read stdout: once the pipe is full ffmpeg is blocked writing to it.
    await new Promise((r) => setTimeout(r, 400));
    expect(alive(proc.pid)).to.equal(true);
    const t0 = performance.now();
    await proc.stop();
    const ms = performance.now() - t0;
    expect(alive(proc.pid)).to.equal(false);
    expect(ms, 'q worked before the 3 s SIGTERM step').to.be.below(2000);
    await proc.done; // resolves: we asked it to stop
  });

  it('stop() falls back to SIGTERM when stdin is not a pipe', async () => {
    const proc = spawnFfmpeg(ENDLESS, { stdin: 'ignore', graceMs: 3000 });
    proc.stdout.resume();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    await proc.stop();
    expect(performance.now() - t0).to.be.below(2000);
    expect(alive(proc.pid)).to.equal(false);
  });

  it('stop() escalates to SIGKILL when ffmpeg reacts to neither q nor SIGTERM', async () => {
    const proc = spawnFfmpeg(ENDLESS, { graceMs: 200 });
    await new Promise((r) => setTimeout(r, 200));
    // A stopped process reads no stdin and leaves SIGTERM pending; only SIGKILL ends it.
    process.kill(proc.pid!, 'SIGSTOP');
    const t0 = performance.now();
    await proc.stop();
    const ms = performance.now() - t0;
    expect(alive(proc.pid)).to.equal(false);
    expect(ms, 'waited one grace period after q and one after SIGTERM').to.be.within(380, 1500);
    const again = performance.now();
    await proc.stop(); // idempotent, returns at once
    expect(performance.now() - again).to.be.below(50);
  });

  it('aborting the signal stops ffmpeg and rejects done with AbortedError', async () => {
    const ac = new AbortController();
    const proc = spawnFfmpeg(ENDLESS, { signal: ac.signal });
    proc.stdout.resume();
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    const err = await rejection(proc.done);
    expect(err).to.be.instanceOf(AbortedError);
    expect(alive(proc.pid)).to.equal(false);
  });

  it('refuses to start with an already aborted signal', () => {
    const ac = new AbortController();
    ac.abort();
    expect(() => spawnFfmpeg(ENDLESS, { signal: ac.signal })).to.throw(AbortedError);
  });

  it('a missing binary fails before spawning with E_FFMPEG_NOT_FOUND', () => {
    expect(() => spawnFfmpeg(ENDLESS, { ffmpegPath: '/no/such/ffmpeg' })).to.throw(SsdpipeError).with.property('code', 'E_FFMPEG_NOT_FOUND');
  });

  it('runFfprobe returns stdout, and rejects with FfmpegError on failure', async () => {
    const out = await runFfprobe(['-v', 'error', '-print_format', 'json', '-show_streams', '-f', 'lavfi', 'testsrc2=size=40x30:rate=5']);
    const json = JSON.parse(out) as { streams: Array<{ width: number; height: number; codec_type: string }> };
    expect(json.streams[0]).to.include({ width: 40, height: 30, codec_type: 'video' });
    const err = await rejection(runFfprobe(['-v', 'error', '/no/such/file.mp4']));
    expect(err).to.be.instanceOf(FfmpegError);
    expect((err as Error).message).to.match(/^ffprobe exited with code 1: .*No such file or directory$/);
  });

  it('ffmpegVersion is cached and picks -vsync for the bundled 2018 build', async () => {
    const a = ffmpegVersion();
    expect(ffmpegVersion()).to.equal(a);
    const text = await a;
    expect(text).to.match(/^ffmpeg version/);
    expect(passthroughSyncArgs(text)).to.deep.equal(['-vsync', 'passthrough']);
  });
});

describe('ffmpeg-process: a crashing ffprobe', () => {
  it('an automatically chosen ffprobe killed by SIGSEGV is replaced by the one on PATH; a chosen one is not', async () => {
    const { crashFallback } = await import('../../src/ffmpeg/ffmpeg-process.js');
    const { FfmpegError } = await import('../../src/errors.js');
    const { searchPath } = await import('../../src/ffmpeg/ffmpeg-path.js');
    const crash = new FfmpegError('ffprobe was killed by SIGSEGV', '');
    const bundled = { path: '/opt/bundled/ffprobe', source: '@ffprobe-installer/ffprobe' as const, reason: '', skipped: [] };
    expect(crashFallback(bundled, crash)).to.equal(searchPath('ffprobe'));
    expect(crashFallback({ ...bundled, source: 'option' }, crash)).to.equal(null);
    expect(crashFallback({ ...bundled, source: 'env' }, crash)).to.equal(null);
    expect(crashFallback(bundled, new FfmpegError('ffprobe exited with code 1', 'Invalid data'))).to.equal(null);
  });
});
