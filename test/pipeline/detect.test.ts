import { expect } from 'chai';
import path from 'node:path';
import { filter, lastValueFrom, take, toArray } from 'rxjs';
import { isFrameRecord } from '../../src/records.js';
import { detect } from '../../src/pipeline/detect.js';
import { createTestMedia, type TestMedia } from '../helpers/media.js';

describe('pipeline/detect: detect()', function () {
  this.timeout(120_000);
  let media: TestMedia;
  let clip: string;

  before(async () => {
    media = await createTestMedia();
    clip = await media.clip({ width: 320, height: 180, fps: 25, frames: 30 });
  });
  after(async () => {
    await media?.cleanup();
  });

  it('detect() emits one FrameDetections per decoded frame, in order, with stage timings', async () => {
    const all = await lastValueFrom(detect(clip, { batch: 4, maxWaitMs: 10 }).pipe(filter(isFrameRecord), toArray()));
    expect(all).to.have.length(await media.countFrames(clip));
    all.forEach((fd, i) => {
      expect(fd.frame.seq).to.equal(i);
      expect(fd.frame.ptsMs).to.be.closeTo(i * 40, 0.001);
      expect(fd.frame.width).to.equal(320);
      expect(fd.timings.inference).to.be.above(0);
      expect(fd.timings.preprocess).to.be.above(0);
      expect(fd.timings.decode).to.be.a('number');
    });
  });

  it('detect() can be cut short (unsubscribe stops decoding and frees the engine)', async () => {
    const t0 = Date.now();
    const first = await lastValueFrom(detect(clip, { batch: 2 }).pipe(filter(isFrameRecord), take(3), toArray()));
    expect(first.map((f) => f.frame.seq)).to.deep.equal([0, 1, 2]);
    expect(Date.now() - t0).to.be.below(20_000);
  });

  it('detect() errors with a coded error for a bad input', async () => {
    try {
      await lastValueFrom(detect(path.join(media.dir, 'missing.mp4')));
      expect.fail('should have failed');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('E_INPUT_NOT_FOUND');
    }
  });
});
