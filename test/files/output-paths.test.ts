import { expect } from 'chai';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OptionError, OutputError, SsdpipeError } from '../../src/errors.js';
import { checkOutputPath, createOutputDirs, errnoText, type OutputKind } from '../../src/files/output-paths.js';

function thrown(f: () => unknown): SsdpipeError {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(SsdpipeError);
    return err as SsdpipeError;
  }
  throw new Error('expected an error');
}

describe('output-paths', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-outputs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('outputs follow their extension: video .mp4/.m4v/.mov (pictures for a still image), stats .json, jsonl anything', () => {
    const ok: [OutputKind, string, boolean | undefined, string][] = [
      ['video', 'a.mp4', undefined, 'mp4'], ['video', 'a.MP4', false, 'mp4'], ['video', 'a.m4v', false, 'mp4'], ['video', 'a.mov', false, 'mov'],
      ['video', 'a.jpg', true, 'jpg'], ['video', 'a.JPEG', undefined, 'jpg'], ['video', 'a.png', true, 'png'],
      ['stats', 's.json', undefined, 'json'], ['jsonl', 'x.jsonl', undefined, 'jsonl'], ['jsonl', 'x.txt', undefined, 'jsonl'], ['jsonl', 'x', undefined, 'jsonl'],
    ];
    for (const [kind, name, stillImage, format] of ok) {
      expect(checkOutputPath(kind, path.join(dir, name), { stillImage }).format, name).to.equal(format);
    }
    const refused: [OutputKind, string, boolean | undefined, RegExp][] = [
      ['video', 'a.jpg', false, /--video: expected a \.mp4, \.m4v or \.mov file for a video input/],
      ['video', 'a.png', false, /for a video input/],
      ['video', 'a.avi', undefined, /--video: expected a \.mp4, \.m4v or \.mov file \(or \.jpg, \.jpeg, \.png for a still image input\), received ".*a\.avi"/],
      ['video', 'a', undefined, /--video: expected/],
      ['stats', 's.txt', undefined, /--stats: expected a \.json file/],
      ['video', '-', undefined, /only --jsonl writes to stdout/],
      ['stats', '-', undefined, /only --jsonl writes to stdout/],
      ['jsonl', '', undefined, /--jsonl: expected a file path/],
    ];
    for (const [kind, name, stillImage, message] of refused) {
      const e = thrown(() => checkOutputPath(kind, name === '' || name === '-' ? name : path.join(dir, name), { stillImage }));
      expect(e, name).to.be.instanceOf(OptionError);
      expect(e.message, name).to.match(message);
      expect(e.hint, name).to.be.a('string');
    }
  });

  it("'-' is stdout for --jsonl", () => {
    expect(checkOutputPath('jsonl', '-')).to.deep.include({ path: '-', toStdout: true, inPlace: false, missingDirs: [] });
  });

  it('lists the missing folders, outermost first, and creates nothing; createOutputDirs makes them', async () => {
    const target = path.join(dir, 'a', 'b', 'c', 'out.mp4');
    const t = checkOutputPath('video', target);
    expect(t).to.deep.include({ path: target, format: 'mp4', inPlace: false, toStdout: false });
    expect(t.missingDirs).to.deep.equal([path.join(dir, 'a'), path.join(dir, 'a', 'b'), path.join(dir, 'a', 'b', 'c')]);
    expect(existsSync(path.join(dir, 'a'))).to.equal(false);
    await createOutputDirs(t);
    expect(statSync(path.join(dir, 'a', 'b', 'c')).isDirectory()).to.equal(true);
    await createOutputDirs(t); // folders made meanwhile are fine
    expect(checkOutputPath('video', target).missingDirs).to.deep.equal([]);
    expect(checkOutputPath('jsonl', path.relative(process.cwd(), target)).path, 'relative paths are resolved').to.equal(target);
  });

  it('unwritable places fail at once with E_OUTPUT naming the flag, the path and the reason', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    await mkdir(path.join(dir, 'a-dir.mp4'));
    const cases: [OutputKind, string, RegExp][] = [
      ['video', '/proc/nowrite/out.mp4', /^cannot write --video \/proc\/nowrite\/out\.mp4: \/proc is on proc, a virtual file system that holds no files$/],
      ['stats', '/sys/x.json', /^cannot write --stats \/sys\/x\.json: \/sys is on sysfs/],
      ['jsonl', '/proc/1/x.jsonl', /^cannot write --jsonl \/proc\/1\/x\.jsonl: \/proc\/1: permission denied|on proc/],
      ['jsonl', path.join(file, 'x.jsonl'), /a-file is a file, not a folder/],
      ['jsonl', path.join(file, 'deeper', 'x.jsonl'), /a-file is a file, not a folder/],
      ['video', path.join(dir, 'a-dir.mp4'), /a-dir\.mp4: it is a directory$/],
    ];
    for (const [kind, target, message] of cases) {
      const t0 = performance.now();
      const e = thrown(() => checkOutputPath(kind, target));
      expect(performance.now() - t0, target).to.be.below(100);
      expect(e, target).to.be.instanceOf(OutputError);
      expect(e.code).to.equal('E_OUTPUT');
      expect(e.message, target).to.match(message);
    }
  });

  it('a read-only folder or file is refused (skipped as root: root writes anyway, except on a read-only mount)', async function () {
    if (process.getuid?.() === 0) this.skip();
    const ro = path.join(dir, 'ro');
    await mkdir(ro);
    await writeFile(path.join(ro, 'old.jsonl'), '');
    await chmod(ro, 0o555);
    await chmod(path.join(ro, 'old.jsonl'), 0o444);
    try {
      expect(thrown(() => checkOutputPath('jsonl', path.join(ro, 'new.jsonl'))).message).to.match(/permission denied \(EACCES\)/);
      expect(thrown(() => checkOutputPath('jsonl', path.join(ro, 'old.jsonl'))).message).to.match(/permission denied \(EACCES\)/);
    } finally {
      await chmod(ro, 0o755);
    }
  });

  it('a device or FIFO is written in place (no temporary file next to it)', () => {
    expect(checkOutputPath('jsonl', '/dev/full')).to.deep.include({ path: '/dev/full', inPlace: true, missingDirs: [] });
    // A device needs no extension: the video is a fragmented MP4 (no rewinding), the stats JSON.
    expect(checkOutputPath('video', '/dev/null')).to.deep.include({ format: 'mp4', inPlace: true });
    expect(checkOutputPath('stats', '/dev/null')).to.deep.include({ format: 'json', inPlace: true });
  });

  it('errnoText: a short reason with the code', () => {
    expect(errnoText(Object.assign(new Error('x'), { code: 'ENOSPC' }))).to.equal('no space left on device (ENOSPC)');
    expect(errnoText(Object.assign(new Error('x'), { code: 'EWEIRD' }))).to.equal('EWEIRD');
    expect(errnoText(new Error('first line\nsecond'))).to.equal('first line');
  });
});
