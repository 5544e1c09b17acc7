import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { InputError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { FlowControl } from '../../src/sources/flow-control.js';
import { mp4IndexAtEnd, probeStdin, stdinSource, STDIN_SOURCE_ID } from '../../src/sources/stdin-source.js';
import { FFMPEG_BIN } from '../helpers/media.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A stream that hands out `bytes` in chunks of `chunk`, one per tick (as a slow pipe would). */
function trickle(bytes: Buffer, chunk: number): PassThrough {
  const stream = new PassThrough();
  void (async () => {
    for (let at = 0; at < bytes.length; at += chunk) {
      if (!stream.write(bytes.subarray(at, at + chunk))) await new Promise((r) => stream.once('drain', r));
      await sleep(0);
    }
    stream.end();
  })();
  return stream;
}

async function failure(p: Promise<unknown> | Observable<unknown>): Promise<unknown> {
  try {
    await (p instanceof Promise ? p : lastValueFrom(p));
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** ISO BMFF boxes: [type, payload bytes] -> bytes, each with its 32-bit size. */
function boxes(...list: Array<[string, number]>): Buffer {
  return Buffer.concat(list.map(([type, n]) => {
    const b = Buffer.alloc(8 + n);
    b.writeUInt32BE(8 + n, 0);
    b.write(type, 4, 'latin1');
    return b;
  }));
}

describe('stdinSource', function () {
  this.timeout(60000);
  let dir: string;
  const file = (name: string): string => path.join(dir, name);
  const ffmpeg = (args: string[]): Promise<unknown> => run(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  const MJPEG_FRAMES = 120;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-stdin-'));
    // 320x240 MJPEG at high quality: ~3 MB, several times the head and every pipe buffer on the way.
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-frames:v', String(MJPEG_FRAMES), '-c:v', 'mjpeg', '-q:v', '2', '-f', 'mjpeg', file('clip.mjpeg')]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '20', '-c:v', 'libvpx', '-b:v', '200k', file('clip.webm')]);
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file('plain.mp4')]);
    await ffmpeg(['-i', file('plain.mp4'), '-c', 'copy', '-movflags', '+faststart', file('faststart.mp4')]);
    await ffmpeg(['-i', file('plain.mp4'), '-c', 'copy', '-movflags', '+frag_keyframe+empty_moov', file('fragmented.mp4')]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe('mp4IndexAtEnd', () => {
    const table: Array<[string, Buffer, boolean | null]> = [
      ['ftyp, moov, mdat (faststart)', boxes(['ftyp', 16], ['moov', 40], ['mdat', 100]), false],
      ['ftyp, free, mdat, moov (index at the end)', boxes(['ftyp', 16], ['free', 0], ['mdat', 100], ['moov', 40]), true],
      ['ftyp, moof (fragments)', boxes(['ftyp', 16], ['moof', 20], ['mdat', 10]), false],
      ['a head that ends inside the first box', boxes(['ftyp', 16]).subarray(0, 12), null],
      ['a head that ends before mdat or moov', boxes(['ftyp', 16], ['free', 4]), null],
      ['MPEG-TS (sync byte 0x47)', Buffer.from([0x47, 0x40, 0, 0x10, 0, 0, 0, 0, 0, 0]), null],
      ['a box of size 0 (to the end) before moov', Buffer.concat([boxes(['ftyp', 16]), Buffer.from([0, 0, 0, 0]), Buffer.from('uuid')]), null],
    ];
    for (const [what, head, expected] of table) {
      it(`${what}: ${expected}`, () => expect(mp4IndexAtEnd(head)).to.equal(expected));
    }

    it('a 64-bit mdat size (size 1, largesize) is skipped to the moov behind it', () => {
      const large = Buffer.alloc(16);
      large.writeUInt32BE(1, 0);
      large.write('wide', 4, 'latin1');
      large.writeBigUInt64BE(16n, 8);
      expect(mp4IndexAtEnd(Buffer.concat([boxes(['ftyp', 8]), large, boxes(['moov', 8])]))).to.equal(false);
      large.write('mdat', 4, 'latin1');
      expect(mp4IndexAtEnd(Buffer.concat([boxes(['ftyp', 8]), large]))).to.equal(true);
    });

    it('files written by ffmpeg: plain true, faststart and fragmented false', async () => {
      expect(mp4IndexAtEnd(await readFile(file('plain.mp4')))).to.equal(true);
      expect(mp4IndexAtEnd(await readFile(file('faststart.mp4')))).to.equal(false);
      expect(mp4IndexAtEnd(await readFile(file('fragmented.mp4')))).to.equal(false);
    });
  });

  describe('probeStdin', () => {
    it('probes a short stream read to its end: size and rate, no frame count or duration', async () => {
      const bytes = await readFile(file('clip.webm'));
      const probed = await probeStdin({ stream: trickle(bytes, 1000) });
      expect(probed.info).to.include({ width: 64, height: 48, fps: 25, frameCount: null, durationMs: null, isImage: false });
      expect(probed.headBytes).to.equal(bytes.length);
    });

    it('reads only the head of a long stream and leaves the rest unread, paused', async () => {
      const bytes = await readFile(file('clip.mjpeg'));
      const stream = trickle(bytes, 16384);
      const probed = await probeStdin({ stream, startBytes: 65536 });
      expect(probed.info).to.include({ width: 320, height: 240 });
      expect(probed.headBytes).to.be.at.least(65536).and.below(65536 + 2 * 16384);
      expect(stream.isPaused()).to.equal(true);
    });

    it('reads more while ffprobe cannot tell the size from the head (doubling from startBytes)', async () => {
      const bytes = await readFile(file('clip.mjpeg'));
      // 200 bytes hold the JPEG markers before the frame header at most: not a size.
      const probed = await probeStdin({ stream: trickle(bytes, 100), startBytes: 200 });
      expect(probed.info).to.include({ width: 320, height: 240 });
      expect(probed.headBytes).to.be.above(200);
    });

    it('an empty stream is an InputError saying so', async () => {
      const err = await failure(probeStdin({ stream: Readable.from([]) }));
      expect(err).to.be.instanceOf(InputError).with.property('code', 'E_INPUT_UNREADABLE');
      expect((err as InputError).message).to.match(/standard input is empty/);
    });

    it('an MP4 with its index at the end is refused with a hint to save or remux it', async () => {
      const err = await failure(probeStdin({ stream: trickle(await readFile(file('plain.mp4')), 4096) }));
      expect(err).to.be.instanceOf(InputError);
      expect((err as InputError).message).to.match(/index \(moov atom\) at the end: it cannot be read from a pipe/);
      expect((err as InputError).hint).to.match(/faststart/).and.match(/\.ts/);
    });

    it('data ffprobe cannot read is an InputError once the stream has ended', async () => {
      const err = await failure(probeStdin({ stream: Readable.from([Buffer.from('not a video\n'.repeat(500))]) }));
      expect(err).to.be.instanceOf(InputError).with.property('code', 'E_INPUT_UNREADABLE');
      expect((err as InputError).message).to.match(/^input unreadable: standard input \(all 6000 bytes\)/);
    });

    it('gives up after maxHeadBytes of data that is not a video', async () => {
      const stream = new PassThrough();
      stream.write(Buffer.alloc(40000, 7));
      const err = await failure(probeStdin({ stream, startBytes: 10000, maxHeadBytes: 30000 }));
      expect((err as InputError).message).to.match(/the first \d+ bytes/);
      stream.destroy();
    });

    it('a terminal is refused without reading it', async () => {
      const tty = Object.assign(new PassThrough(), { isTTY: true });
      expect((await failure(probeStdin({ stream: tty })) as InputError).message).to.match(/is a terminal/);
    });

    it('a failing stream is an InputError with the cause', async () => {
      const stream = new PassThrough();
      setTimeout(() => stream.destroy(new Error('EIO: i/o error')), 10);
      const err = await failure(probeStdin({ stream }));
      expect((err as InputError).message).to.equal('reading standard input failed: EIO: i/o error');
    });
  });

  describe('decoding', () => {
    it('emits every frame: the head first, then the rest of the stream, with seq and ptsMs', async () => {
      const bytes = await readFile(file('clip.mjpeg'));
      const probed = await probeStdin({ stream: trickle(bytes, 16384), startBytes: 65536 });
      const frames = await lastValueFrom(stdinSource(probed).pipe(toArray()));
      expect(frames).to.have.length(MJPEG_FRAMES);
      expect(frames.map((f) => f.seq)).to.deep.equal([...Array(MJPEG_FRAMES).keys()]);
      expect(frames.every((f) => f.source === STDIN_SOURCE_ID && f.width === 320 && f.height === 240 && f.data.length === 320 * 240 * 3)).to.equal(true);
      expect(frames[1].ptsMs).to.equal(40);
      expect(frames.at(-1)!.ptsMs).to.equal((MJPEG_FRAMES - 1) * 40);
    });

    it('a stream that ended within the head decodes too (Matroska), with the report', async () => {
      const probed = await probeStdin({ stream: trickle(await readFile(file('clip.webm')), 1000) });
      const reports: unknown[] = [];
      const frames = await lastValueFrom(stdinSource(probed, { sourceId: 'cam', onReport: (r) => reports.push(r) }).pipe(toArray()));
      expect(frames).to.have.length(20);
      expect(frames[0].source).to.equal('cam');
      expect(reports).to.deep.equal([{ source: 'cam', declared_frames: null, decoded_frames: 20, truncated: false, decode_errors: 0, first_error: null }]);
    });

    it('a fragmented MP4 decodes', async () => {
      const probed = await probeStdin({ stream: trickle(await readFile(file('fragmented.mp4')), 1000) });
      expect(await lastValueFrom(stdinSource(probed).pipe(toArray()))).to.have.length(20);
    });

    it('with the pipeline full, standard input is paused and not read to its end; releasing resumes it to the last frame', async () => {
      const bytes = await readFile(file('clip.mjpeg'));
      let read = 0;
      const stream = trickle(bytes, 16384);
      stream.on('data', (c: Buffer) => void (read += c.length));
      const probed = await probeStdin({ stream, startBytes: 65536 });
      const flow = new FlowControl(2);
      const frames: Frame[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stdinSource(probed, { flow }).subscribe({ next: (f) => frames.push(f), error: reject, complete: resolve });
      });
      await sleep(1500);
      // Two frames out, nothing released: ffmpeg blocks writing, stops reading, and so do we.
      expect(frames).to.have.length(2);
      expect(stream.isPaused()).to.equal(true);
      expect(read).to.be.below(bytes.length);
      const drain = setInterval(() => flow.release(flow.pending), 5);
      try {
        await done;
      } finally {
        clearInterval(drain);
      }
      expect(frames).to.have.length(MJPEG_FRAMES);
      expect(read).to.equal(bytes.length);
    });

    it('can be subscribed once: the stream is consumed', async () => {
      const probed = await probeStdin({ stream: trickle(await readFile(file('clip.webm')), 1000) });
      await lastValueFrom(stdinSource(probed));
      const err = await failure(stdinSource(probed));
      expect((err as InputError).message).to.equal('standard input was already read');
    });
  });
});
