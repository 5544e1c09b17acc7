import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../src/files/atomic-write.js';

describe('files/atomic-write', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces a file and leaves no temp files', async () => {
    const f = path.join(dir, 'x.bin');
    await writeFileAtomic(f, 'one');
    await writeFileAtomic(f, new Uint8Array([116, 119, 111]));
    expect(await readFile(f, 'utf8')).to.equal('two');
    expect(await readdir(dir)).to.deep.equal(['x.bin']);
  });

  it('fails with the system error when the folder is missing, leaving nothing behind', async () => {
    let err: unknown;
    await writeFileAtomic(path.join(dir, 'missing', 'y'), 'z').catch((e: unknown) => {
      err = e;
    });
    expect((err as NodeJS.ErrnoException).code).to.equal('ENOENT');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('keeps the old content when the write fails (a target that is a folder)', async () => {
    const f = path.join(dir, 'keep.txt');
    await writeFileAtomic(f, 'old');
    const asDir = path.join(dir, 'adir');
    await import('node:fs/promises').then((fs) => fs.mkdir(asDir));
    let err: unknown;
    await writeFileAtomic(asDir, 'new').catch((e: unknown) => {
      err = e;
    });
    expect(err).to.be.instanceOf(Error);
    expect(await readFile(f, 'utf8')).to.equal('old');
    expect((await readdir(dir)).sort()).to.deep.equal(['adir', 'keep.txt']);
  });
});
