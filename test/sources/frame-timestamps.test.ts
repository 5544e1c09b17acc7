import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { FramecrcParser, readFrameTimestamps } from '../../src/sources/frame-timestamps.js';

describe('frame-timestamps', () => {
  it('FramecrcParser: the #tb header sets the time base, each frame line gives pts and ms', () => {
    const p = new FramecrcParser();
    const lines = [
      '#software: Lavf58.24.100', '0,          0,          0,        1,        6, 0x07b802b5', // before #tb: ignored
      '#tb 0: 1/12800', '#media_type 0: video', '#dimensions 0: 2x2', '',
      '0,          0,          0,        1,        6, 0x07b802b5',
      '0,        512,        512,      512,        6, 0x076b028f',
      '0,       7680,       7680,      512,        6, 0x076b028f',
      '0,      -1024,      -1024,      512,        6, 0x076b028f',
      '1,        512,        512,      512,        6, 0x076b028f', // another stream
      'garbage', '0, x, y, z, 6, 0x0',
    ];
    expect(lines.map((l) => p.line(l))).to.deep.equal([
      null, null, null, null, null, null,
      { pts: 0, ms: 0 }, { pts: 512, ms: 40 }, { pts: 7680, ms: 600 }, { pts: -1024, ms: -80 },
      null, null, null,
    ]);
    const ntsc = new FramecrcParser();
    ntsc.line('#tb 0: 1001/30000');
    expect(ntsc.line('0, 3, 3, 1, 6, 0x0')).to.deep.equal({ pts: 3, ms: 100.1 });
  });

  it('readFrameTimestamps: lines split across chunks, in order, ended once the pipe ends', () => {
    const pipe = new PassThrough();
    let changes = 0;
    const q = readFrameTimestamps(pipe, () => changes++);
    pipe.write('#tb 0: 1/1000\n0, 0, 0, 1, 6, 0x0\n0, 40, 4');
    return new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      expect(q.available).to.equal(1);
      expect(q.shift()).to.equal(0);
      expect(q.shift()).to.equal(undefined);
      pipe.end('0, 1, 6, 0x0\n0, 100, 100, 1, 6, 0x0');
      await new Promise<void>((resolve) => pipe.once('end', () => setImmediate(resolve)));
      expect(q.ended).to.equal(true);
      expect([q.shift(), q.shift(), q.shift()]).to.deep.equal([40, 100, undefined]);
      expect(changes).to.be.at.least(3);
    });
  });
});
