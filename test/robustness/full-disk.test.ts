import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FrameDetections } from '../../src/detection.js';
import { OutputError } from '../../src/errors.js';
import { LineFile } from '../../src/files/line-file.js';
import { openAnnotatedVideo } from '../../src/sinks/annotated-video.js';
import { openJsonlSink } from '../../src/sinks/jsonl.js';

// An output that fails mid-run as a full disk does: /dev/full (every write fails with ENOSPC) and
// a 200 KiB tmpfs mounted by the test (writes succeed until it is full, the last one part-way).

const exec = promisify(execFile);
const ENOSPC = /^writing --(jsonl|video) .+ failed: no space left on device \(ENOSPC\)$/;

function item(seq: number, width = 64, height = 48, data?: Uint8Array): FrameDetections {
  return {
    frame: { source: 'clip.mp4', seq, ptsMs: seq * 40, width, height, data: data ?? new Uint8Array(width * height * 3).fill(90) },
    detections: [{ classId: 1, label: 'face', score: 0.9, box: [0.1, 0.2, 0.5, 0.6], trackId: null }],
    timings: {},
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Writes frames until a write fails; returns the error and how many writes succeeded. */
async function writeUntilFailure(write: (seq: number) => Promise<void>, max: number): Promise<{ error: Error | null; written: number }> {
  for (let seq = 0; seq < max; seq++) {
    try {
      await write(seq);
    } catch (error) {
      return { error: error as Error, written: seq };
    }
  }
  return { error: null, written: max };
}

describe('full disk', function () {
  this.timeout(30_000);

  describe('/dev/full', () => {
    it('JSONL: the write fails with "no space left on device", and closing does not hide it', async () => {
      const sink = await openJsonlSink({ target: '/dev/full' });
      const err = await rejection(sink.write(item(0)));
      expect(err).to.be.instanceOf(OutputError);
      expect(err.message).to.match(ENOSPC);
      expect(err.message).to.not.match(/Cannot call end|destroyed/);
      expect((err as OutputError).cause).to.include({ code: 'ENOSPC' });
      await sink.close(); // already reported: closing is quiet
      expect(statSync('/dev/full').isCharacterDevice(), 'the device is written in place').to.equal(true);
    });

    it('MP4: the encoder fails with "no space left on device"; the device is not replaced', async () => {
      const sink = await openAnnotatedVideo({ path: '/dev/full', width: 64, height: 48, fps: 25 });
      const { error } = await writeUntilFailure((seq) => sink.write(item(seq)), 200);
      const err = error ?? (await rejection(sink.close()));
      expect(err).to.be.instanceOf(OutputError);
      expect(err.message).to.match(ENOSPC);
      await sink.close().catch(() => undefined);
      expect(statSync('/dev/full').isCharacterDevice()).to.equal(true);
      expect((await readdir('/dev')).filter((f) => f.startsWith('full.partial'))).to.deep.equal([]);
    });
  });

  describe('a 200 KiB tmpfs that fills up', () => {
    let dir: string;
    let mounted = false;
    before(async function () {
      dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-tmpfs-'));
      try {
        await exec('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', dir]);
        mounted = true;
      } catch (err) {
        // Needs root (CAP_SYS_ADMIN) and a mount binary; /dev/full above covers the error path.
        console.log(`      (skipped: cannot mount a tmpfs here: ${String((err as Error).message).split('\n')[0]})`);
        this.skip();
      }
    });
    after(async () => {
      if (mounted) await exec('umount', [dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    afterEach(async () => {
      if (mounted) for (const f of await readdir(dir)) await rm(path.join(dir, f), { recursive: true, force: true });
    });

    it('JSONL: the run stops at the full disk with ENOSPC and the file holds only whole lines', async () => {
      // Leave ~10 KiB: about 50 lines fit, and the one that does not is written part-way.
      const { stdout } = await exec('df', ['-B1', '--output=avail', dir]);
      await writeFile(path.join(dir, 'filler'), Buffer.alloc(Number(stdout.trim().split('\n')[1]) - 10_000));
      const file = path.join(dir, 'out', 'frames.jsonl');
      const sink = await openJsonlSink({ target: file });
      const { error, written } = await writeUntilFailure((seq) => sink.write(item(seq)), 5_000);
      await sink.close();
      expect(error).to.be.instanceOf(OutputError);
      expect(error!.message).to.match(ENOSPC);
      expect(written).to.be.within(10, 4_999);
      const text = await readFile(file, 'utf8');
      expect(text.endsWith('\n'), 'no partial last line').to.equal(true);
      const lines = text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.frame)).to.deep.equal([...Array(written).keys()]);
    });

    it('LineFile cuts a part-way write back to the last whole line', async () => {
      const { stdout } = await exec('df', ['-B1', '--output=avail', dir]);
      await writeFile(path.join(dir, 'filler'), Buffer.alloc(Number(stdout.trim().split('\n')[1]) - 8192));
      const f = await LineFile.open(path.join(dir, 'lines.txt'));
      await f.write('a'.repeat(999) + '\n');
      // 10,000 bytes: the first 7 KiB or so fit, then ENOSPC.
      const err = await rejection(f.write('b'.repeat(9_999) + '\n'));
      expect(err).to.include({ code: 'ENOSPC' });
      await rejection(f.write('c\n')); // failed once, fails from then on
      await f.close();
      expect(f.bytes).to.equal(1000);
      expect(await readFile(path.join(dir, 'lines.txt'), 'utf8')).to.equal('a'.repeat(999) + '\n');
    });

    it('MP4: the encoder fails with ENOSPC, no partial file is left, an existing video is kept', async () => {
      await mkdir(path.join(dir, 'v'));
      const target = path.join(dir, 'v', 'out.mp4');
      await writeFile(target, 'keep');
      const sink = await openAnnotatedVideo({ path: target, width: 160, height: 120, fps: 25, crf: 0, preset: 'ultrafast' });
      // Noise does not compress: 200 frames of it are megabytes.
      let seed = 1;
      const noise = (): Uint8Array => Uint8Array.from({ length: 160 * 120 * 3 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
      const { error } = await writeUntilFailure((seq) => sink.write(item(seq, 160, 120, noise())), 200);
      const err = error ?? (await rejection(sink.close()));
      await sink.close().catch(() => undefined);
      expect(err).to.be.instanceOf(OutputError);
      expect(err.message).to.match(ENOSPC);
      expect(await readdir(path.join(dir, 'v'))).to.deep.equal(['out.mp4']);
      expect(await readFile(target, 'utf8')).to.equal('keep');
    });
  });
});
