import { expect } from 'chai';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SsdpipeError } from '../../src/errors.js';
import { resolveFfmpeg, resolveFfmpegTool, searchPath } from '../../src/ffmpeg/ffmpeg-path.js';
import { FFMPEG_BIN, FFPROBE_BIN } from '../helpers/media.js';

describe('resolveFfmpeg', () => {
  let dir: string;
  let ffmpegLink: string;
  let ffprobeLink: string;
  const saved = { FFMPEG_PATH: process.env.FFMPEG_PATH, FFPROBE_PATH: process.env.FFPROBE_PATH, PATH: process.env.PATH };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-path-'));
    // Links in a temp dir stand for "another ffmpeg" (an env var or PATH entry) distinct from the bundled one.
    await symlink(FFMPEG_BIN, (ffmpegLink = path.join(dir, 'ffmpeg')));
    await symlink(FFPROBE_BIN, (ffprobeLink = path.join(dir, 'ffprobe')));
    await writeFile(path.join(dir, 'not-executable'), 'x', { mode: 0o644 });
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without options or env uses the @ffmpeg-installer / @ffprobe-installer binaries, saying why earlier candidates were skipped', () => {
    delete process.env.FFMPEG_PATH;
    delete process.env.FFPROBE_PATH;
    const r = resolveFfmpeg();
    expect(r.ffmpeg).to.include({ path: FFMPEG_BIN, source: '@ffmpeg-installer/ffmpeg' });
    expect(r.ffprobe).to.include({ path: FFPROBE_BIN, source: '@ffprobe-installer/ffprobe' });
    expect(r.ffmpeg.skipped.map((s) => s.source)).to.deep.equal(['option', 'env', 'ffmpeg-static']);
    expect(r.ffmpeg.skipped[1].reason).to.equal('FFMPEG_PATH is not set');
    // ffmpeg-static is an optional dependency that is not installed here.
    expect(r.ffmpeg.skipped[2].reason).to.equal('package not installed');
    expect(r.ffprobe.skipped.map((s) => s.source)).to.deep.equal(['option', 'env']);
  });

  it('an env var wins over the packages', () => {
    process.env.FFMPEG_PATH = ffmpegLink;
    process.env.FFPROBE_PATH = ffprobeLink;
    const r = resolveFfmpeg();
    expect(r.ffmpeg).to.include({ path: ffmpegLink, source: 'env', reason: 'from FFMPEG_PATH' });
    expect(r.ffprobe).to.include({ path: ffprobeLink, source: 'env', reason: 'from FFPROBE_PATH' });
  });

  it('an explicit option wins over the env var', () => {
    process.env.FFMPEG_PATH = ffmpegLink;
    const r = resolveFfmpeg({ ffmpegPath: FFMPEG_BIN });
    expect(r.ffmpeg).to.include({ path: FFMPEG_BIN, source: 'option' });
    expect(r.ffmpeg.skipped).to.deep.equal([]);
  });

  it('an explicit bare name is looked up in PATH', () => {
    process.env.PATH = [dir, saved.PATH].join(path.delimiter);
    expect(resolveFfmpegTool('ffprobe', 'ffprobe')).to.include({ path: ffprobeLink, source: 'option' });
  });

  it('a bogus explicit path is an E_FFMPEG_NOT_FOUND error naming it, not a silent fallback', () => {
    const bogus = path.join(dir, 'no-such-ffmpeg');
    let err: unknown;
    try {
      resolveFfmpeg({ ffmpegPath: bogus });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SsdpipeError);
    expect(err).to.include({ code: 'E_FFMPEG_NOT_FOUND' });
    expect((err as Error).message).to.equal(`ffmpeg not found at ${bogus} (given by option ffmpegPath)`);
    expect((err as SsdpipeError).hint).to.match(/ffmpegPath/);
  });

  it('a non-executable file or a bogus env var is also an error', () => {
    expect(() => resolveFfmpegTool('ffmpeg', path.join(dir, 'not-executable')))
      .to.throw(SsdpipeError, /not found at/).with.property('code', 'E_FFMPEG_NOT_FOUND');
    process.env.FFPROBE_PATH = path.join(dir, 'nope');
    expect(() => resolveFfmpegTool('ffprobe')).to.throw(SsdpipeError, /given by FFPROBE_PATH/).with.property('code', 'E_FFMPEG_NOT_FOUND');
  });

  it('caches per process: the same inputs give the same object', () => {
    delete process.env.FFMPEG_PATH;
    expect(resolveFfmpegTool('ffmpeg')).to.equal(resolveFfmpegTool('ffmpeg'));
  });

  it('searchPath finds executables in PATH order and skips non-executables and missing dirs', () => {
    const list = [path.join(dir, 'missing'), dir, path.dirname(FFMPEG_BIN)].join(path.delimiter);
    expect(searchPath('ffmpeg', list)).to.equal(ffmpegLink);
    expect(searchPath('not-executable', list)).to.equal(null);
    expect(searchPath('ffmpeg', '')).to.equal(null);
  });
});
