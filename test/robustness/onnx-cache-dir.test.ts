import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cli, jsonLines, requireBuiltCli } from '../helpers/cli.js';
import { createTestMedia, type TestMedia } from '../helpers/media.js';

// An ONNX model cache that cannot be written does not stop a run: the model is built in memory
// and the summary's engine line says so; `ssdpipe doctor` says the cache is not writable.
// Tests run as root, where chmod 0555 does not stop writes: the cache goes under a regular file
// (ENOTDIR), on a read-only tmpfs (EROFS) and on a 64 KiB tmpfs (ENOSPC), the last two where
// this machine lets the test mount one.

const exec = promisify(execFile);

describe('ONNX model cache not writable (CLI)', function () {
  this.timeout(180_000);
  let media: TestMedia;
  let clip: string;

  before(async () => {
    requireBuiltCli();
    media = await createTestMedia();
    clip = await media.clip({ width: 160, height: 120, fps: 25, frames: 10 });
  });
  after(async () => {
    await media?.cleanup();
  });

  /**
   * detect with SSDPIPE_CACHE_DIR=cacheDir: completes, every frame written, the engine line names
   * `cause`; `ssdpipe doctor` says `doctorSays` about the folder.
   */
  async function runsWithoutCache(cacheDir: string, cause: RegExp, doctorSays: RegExp): Promise<void> {
    const jsonl = path.join(media.dir, `out-${path.basename(cacheDir)}.jsonl`);
    const r = await cli(['detect', clip, '--engine', 'onnx', '--jsonl', jsonl], { env: { SSDPIPE_CACHE_DIR: cacheDir } });
    expect(r.code, r.stderr).to.equal(0);
    expect(jsonLines(await readFile(jsonl, 'utf8')).filter((l) => l.type === 'frame')).to.have.length(10);
    const engineLine = r.stderr.split('\n').find((l) => l.startsWith('  engine: '));
    expect(engineLine, r.stderr).to.match(/generated model, cache not written \(.+\): built in memory, not cached/).and.match(cause);
    const doctor = await cli(['doctor'], { env: { SSDPIPE_CACHE_DIR: cacheDir } });
    expect(doctor.code, doctor.stderr).to.equal(0);
    const cacheLine = doctor.stdout.split('\n').find((l) => l.startsWith('  onnx model cache: '));
    expect(cacheLine, doctor.stdout).to.include(`${cacheDir}/onnx`).and.match(doctorSays).and.match(/the model is built in memory on every run, not cached/);
  }

  /** Mounts a tmpfs with `options` on a new folder for `fn`; skips the test where mounting is not allowed. */
  async function withTmpfs(ctx: Mocha.Context, name: string, options: string, fn: (dir: string) => Promise<void>): Promise<void> {
    const dir = path.join(media.dir, name);
    await mkdir(dir, { recursive: true });
    try {
      await exec('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    } catch (err) {
      // Needs root (CAP_SYS_ADMIN) and a mount binary; the ENOTDIR case covers the fallback.
      console.log(`      (skipped: cannot mount a tmpfs here: ${String((err as Error).message).split('\n')[0]})`);
      ctx.skip();
    }
    try {
      await fn(dir);
    } finally {
      await exec('umount', [dir]).catch(() => undefined);
    }
  }

  it('a cache directory under a regular file (ENOTDIR): the run completes, built in memory, and says so', async () => {
    const file = path.join(media.dir, 'a-regular-file');
    await writeFile(file, 'not a folder\n');
    await runsWithoutCache(path.join(file, 'cache'), /ENOTDIR/, /NOT WRITABLE \(ENOTDIR/);
  });

  it('a read-only cache file system (EROFS): the run completes, built in memory, and says so', async function () {
    await withTmpfs(this, 'ro-cache', 'ro,size=1m', (dir) => runsWithoutCache(dir, /EROFS/, /NOT WRITABLE \(EROFS/));
  });

  it('a full cache file system (ENOSPC): the run completes, and no partial model is left in the cache', async function () {
    await withTmpfs(this, 'full-cache', 'size=64k', async (dir) => {
      await runsWithoutCache(dir, /ENOSPC/, /ALMOST FULL \(\d+ KiB free/);
      // The atomic write cleans up its temp file: nothing a later run could mistake for a model.
      expect(await readdir(path.join(dir, 'onnx'))).to.deep.equal([]);
    });
  });
});
