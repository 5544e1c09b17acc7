import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { OptionError } from '../../src/errors.js';
import { passthroughSyncArgs } from '../../src/sources/ffmpeg-args.js';
import { libraryVersion, liveDecodeArgs, liveInputArgs, liveProbeArgs, rtspTimeoutArgs } from '../../src/sources/live-args.js';
import { classifyInput } from '../../src/sources/live-input.js';
import { createTestMedia, FFMPEG_BIN, FFPROBE_BIN, type TestMedia } from '../helpers/media.js';
import { MjpegTestServer } from '../helpers/mjpeg-server.js';

const run = promisify(execFile);

/** `-version` lines of the builds this project meets. */
const V2018 = 'ffmpeg version N-47683-g0e8eb07980-static\nlibavutil      56. 24.101 / 56. 24.101\nlibavformat    58. 24.100 / 58. 24.100\n';
const V44 = 'ffmpeg version 4.4.2\nlibavutil      56. 70.100 / 56. 70.100\nlibavformat    58. 76.100 / 58. 76.100\n';
const V51 = 'ffmpeg version 5.1.9-0+deb12u1\nlibavutil      57. 28.100 / 57. 28.100\nlibavformat    59. 27.100 / 59. 27.100\n';
const V7 = 'ffmpeg version 7.1\nlibavutil      59. 39.100 / 59. 39.100\nlibavformat    61.  7.100 / 61.  7.100\n';

describe('live-args', () => {
  it('libraryVersion reads major and minor from -version text', () => {
    expect(libraryVersion(V2018, 'libavformat')).to.deep.equal({ major: 58, minor: 24 });
    expect(libraryVersion(V7, 'libavformat')).to.deep.equal({ major: 61, minor: 7 });
    expect(libraryVersion('nothing', 'libavformat')).to.equal(null);
  });

  it('rtspTimeoutArgs: -stimeout before libavformat 59 (where -timeout means listen), -timeout from 5.0 on', () => {
    const table: Array<[string, string]> = [[V2018, '-stimeout'], [V44, '-stimeout'], [V51, '-timeout'], [V7, '-timeout'], ['unknown build', '-stimeout']];
    for (const [text, name] of table) expect(rtspTimeoutArgs(text, 2500), text.split('\n')[0]).to.deep.equal([name, '2500000']);
  });

  it('RTSP: TCP by default, UDP on request, socket timeout in µs, video only, tolerant low-latency flags', () => {
    const cam = classifyInput('rtsp://u:p@cam/s');
    expect(liveInputArgs(cam, { versionText: V2018 })).to.deep.equal([
      '-rtsp_transport', 'tcp', '-stimeout', '5000000', '-allowed_media_types', 'video',
      '-fflags', '+discardcorrupt+genpts', '-flags', 'low_delay', '-i', 'rtsp://u:p@cam/s',
    ]);
    expect(liveInputArgs(cam, { versionText: V51, rtspTransport: 'udp', ioTimeoutMs: 3000 }).slice(0, 4))
      .to.deep.equal(['-rtsp_transport', 'udp', '-timeout', '3000000']);
    expect(liveInputArgs(classifyInput('rtsps://cam/s'), { versionText: V51 })).to.include('-timeout');
  });

  it('quickStart shortens the stream analysis of a decoder that follows a probe', () => {
    const quick = liveInputArgs(classifyInput('rtsp://cam/s'), { versionText: V51, quickStart: true });
    expect(quick.slice(6, 10)).to.deep.equal(['-analyzeduration', '500000', '-probesize', '1000000']);
    expect(liveInputArgs(classifyInput('rtsp://cam/s'), { versionText: V51 })).to.not.include('-analyzeduration');
  });

  it('HTTP kinds: read timeout, capped reconnect; HLS starts at the newest segment; progressive keeps buffering', () => {
    const http = ['-rw_timeout', '5000000', '-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '2'];
    for (const v of [V2018, V51]) {
      expect(liveInputArgs(classifyInput('http://cam/video.mjpg'), { versionText: v })).to.deep.equal([
        ...http, '-fflags', '+discardcorrupt+genpts', '-flags', 'low_delay', '-i', 'http://cam/video.mjpg']);
      expect(liveInputArgs(classifyInput('https://cdn/live.m3u8'), { versionText: v })).to.deep.equal([
        ...http, '-live_start_index', '-1', '-fflags', '+discardcorrupt+genpts', '-flags', 'low_delay', '-i', 'https://cdn/live.m3u8']);
      expect(liveInputArgs(classifyInput('http://host/a.mp4'), { versionText: v })).to.deep.equal([
        ...http, '-fflags', '+discardcorrupt+genpts', '-i', 'http://host/a.mp4']);
    }
  });

  it('v4l2, stdin and files', () => {
    expect(liveInputArgs(classifyInput('/dev/video0'), { versionText: V2018 })).to.deep.equal([
      '-f', 'v4l2', '-fflags', '+discardcorrupt+genpts', '-flags', 'low_delay', '-i', '/dev/video0']);
    expect(liveInputArgs(classifyInput('-'), { versionText: V51 })).to.deep.equal(['-fflags', '+discardcorrupt+genpts', '-i', 'pipe:0']);
    expect(liveInputArgs(classifyInput('-x.mp4'), { versionText: V51 })).to.deep.equal(['-i', 'file:-x.mp4']);
  });

  it('rejects a bad transport or timeout', () => {
    const cam = classifyInput('rtsp://cam/s');
    expect(() => liveInputArgs(cam, { versionText: V51, rtspTransport: 'http' as never })).to.throw(OptionError, /--rtsp-transport/);
    expect(() => liveInputArgs(cam, { versionText: V51, ioTimeoutMs: 0 })).to.throw(OptionError, /ioTimeoutMs/);
  });

  it('liveProbeArgs and liveDecodeArgs put the input options before -i and rgb24 on stdout', () => {
    const cam = classifyInput('rtsp://cam/s');
    const inputArgs = liveInputArgs(cam, { versionText: V51 });
    expect(liveProbeArgs(cam, { versionText: V51 })).to.deep.equal(['-v', 'error', ...inputArgs, '-print_format', 'json', '-show_streams', '-show_format']);
    expect(liveDecodeArgs({ inputArgs, width: 64, height: 48, syncArgs: passthroughSyncArgs(V51) })).to.deep.equal([
      '-hide_banner', '-loglevel', 'error', ...inputArgs, '-map', '0:v:0', '-an', '-sn', '-dn',
      '-fps_mode', 'passthrough', '-vf', 'scale=64:48', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
    ]);
  });

  describe('real binaries accept every option', function () {
    this.timeout(60_000);
    const binaries: Array<[string, string]> = [['bundled ffmpeg', FFMPEG_BIN], ['bundled ffprobe', FFPROBE_BIN]];
    for (const bin of ['/usr/bin/ffmpeg', '/usr/bin/ffprobe']) if (existsSync(bin)) binaries.push([`system ${bin.split('/').pop()}`, bin]);
    let media: TestMedia;
    let closedPort: number;
    before(async () => {
      media = await createTestMedia();
      // A port that was free a moment ago: connecting is refused at once.
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
      closedPort = (probe.address() as net.AddressInfo).port;
      await new Promise((r) => probe.close(r));
    });
    after(() => media.cleanup());

    /** Runs bin with the input args; returns its stderr (never rejects). */
    async function attempt(bin: string, inputArgs: string[], stdinFile?: string): Promise<{ stderr: string; stdout: Buffer }> {
      const isProbe = bin.endsWith('ffprobe');
      const args = isProbe
        ? ['-v', 'error', ...inputArgs, '-show_entries', 'stream=width,height', '-of', 'csv=p=0']
        : ['-hide_banner', '-loglevel', 'error', ...inputArgs, '-frames:v', '2', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'];
      return new Promise((resolve) => {
        const child = spawn(bin, args, { stdio: [stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        let stderr = '';
        child.stdout!.on('data', (c: Buffer) => out.push(c));
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        if (stdinFile) {
          child.stdin!.on('error', () => {});
          createReadStream(stdinFile).pipe(child.stdin!);
        }
        child.on('close', () => resolve({ stderr, stdout: Buffer.concat(out) }));
      });
    }
    const unknownOption = /Unrecognized option|Option not found|Unable to open RTSP for listening|Invalid argument/;

    for (const [name, bin] of binaries) {
      it(`${name}: network kinds fail only for want of a server`, async () => {
        const versionText = (await run(bin, ['-version'])).stdout;
        for (const url of [`rtsp://u:p@127.0.0.1:${closedPort}/s`, `http://127.0.0.1:${closedPort}/video.mjpg`,
          `http://127.0.0.1:${closedPort}/live.m3u8`, `http://127.0.0.1:${closedPort}/a.mp4`]) {
          for (const rtspTransport of ['tcp', 'udp'] as const) {
            const { stderr } = await attempt(bin, liveInputArgs(classifyInput(url), { versionText, rtspTransport }));
            expect(stderr, `${url} ${rtspTransport}`).to.not.match(unknownOption);
            expect(stderr, `${url} ${rtspTransport}`).to.match(/Connection refused/);
          }
        }
        const { stderr } = await attempt(bin, liveInputArgs(classifyInput('/dev/video99'), { versionText }));
        expect(stderr).to.not.match(unknownOption);
        expect(stderr).to.match(/No such file or directory/);
      });

      // ffprobe never reads standard input here: a source cannot probe a pipe and then decode it.
      it(`${name}: MJPEG over HTTP${bin.endsWith('ffprobe') ? '' : ', standard input'} and a file decode`, async () => {
        const versionText = (await run(bin, ['-version'])).stdout;
        const clip = await media.clip({ width: 64, height: 48, fps: 25, frames: 5, preset: 'ultrafast' });
        const ts = clip.replace(/\.mp4$/, '.ts');
        await run(FFMPEG_BIN, ['-loglevel', 'error', '-y', '-i', clip, '-c', 'copy', '-f', 'mpegts', ts]);
        const server = await MjpegTestServer.start({ width: 32, height: 24, fps: 25, frames: 3 });
        try {
          const mjpeg = await attempt(bin, liveInputArgs(classifyInput(server.url), { versionText }));
          const file = await attempt(bin, liveInputArgs(classifyInput(clip), { versionText }));
          expect(mjpeg.stderr).to.equal('');
          expect(file.stderr).to.equal('');
          if (bin.endsWith('ffprobe')) {
            expect(mjpeg.stdout.toString().trim()).to.equal('32,24');
            expect(file.stdout.toString().trim()).to.equal('64,48');
          } else {
            const stdin = await attempt(bin, liveInputArgs(classifyInput('-'), { versionText }), ts);
            expect(stdin.stderr).to.equal('');
            expect(mjpeg.stdout.length).to.equal(2 * 32 * 24 * 3);
            expect(stdin.stdout.length).to.equal(2 * 64 * 48 * 3);
            expect(file.stdout.length).to.equal(2 * 64 * 48 * 3);
          }
        } finally {
          await server.stop();
        }
      });
    }
  });
});
