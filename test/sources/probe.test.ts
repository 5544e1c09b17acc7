import { expect } from 'chai';
import path from 'node:path';
import { InputError } from '../../src/errors.js';
import { mediaInfoFromProbe, probeInput } from '../../src/sources/probe.js';
import { createTestMedia, type TestMedia } from '../helpers/media.js';

async function rejection(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message, 'one-line message').to.not.contain('\n');
    return err as InputError;
  }
  throw new Error('expected a rejection');
}

describe('probeInput', () => {
  let media: TestMedia;
  before(async () => {
    media = await createTestMedia();
  });
  after(async () => {
    await media.cleanup();
  });

  it('reads size, fps, frame count, duration and codec of an mp4 clip', async () => {
    const file = await media.clip({ width: 64, height: 48, fps: 10, frames: 15 });
    expect(await probeInput(file)).to.deep.equal({
      width: 64, height: 48, fps: 10, frameCount: 15, durationMs: 1500, codec: 'h264', isImage: false, audioCodec: null,
    });
  });

  it('gives a null frame count when the container states none (webm)', async () => {
    const file = await media.clip({ width: 32, height: 24, fps: 5, frames: 5, container: 'webm' });
    const info = await probeInput(file);
    expect(info).to.include({ width: 32, height: 24, fps: 5, frameCount: null, codec: 'vp8', isImage: false });
  });

  for (const [ext, codec] of [['jpg', 'mjpeg'], ['png', 'png']] as const) {
    it(`marks a ${ext} as a one-frame image`, async () => {
      const file = await media.still(ext, { width: 40, height: 30 });
      expect(await probeInput(file)).to.include({ width: 40, height: 30, frameCount: 1, durationMs: null, codec, isImage: true });
    });
  }

  it('a missing file is E_INPUT_NOT_FOUND', async () => {
    const missing = path.join(media.dir, 'nope.mp4');
    const err = await rejection(probeInput(missing));
    expect(err.code).to.equal('E_INPUT_NOT_FOUND');
    expect(err.message).to.equal(`input not found: ${missing}`);
    expect(err.hint).to.be.a('string');
  });

  it('a text file is E_INPUT_UNREADABLE with ffprobe\'s reason', async () => {
    const file = await media.notAVideo();
    const err = await rejection(probeInput(file));
    expect(err.code).to.equal('E_INPUT_UNREADABLE');
    expect(err.message).to.equal(`input unreadable: ${file}: Invalid data found when processing input`);
  });

  it('a truncated mp4 without its index is E_INPUT_UNREADABLE saying the index is missing', async () => {
    const err = await rejection(probeInput(await media.truncatedMp4()));
    expect(err.code).to.equal('E_INPUT_UNREADABLE');
    expect(err.message).to.match(/: the MP4 has no index \(moov atom not found\): it is truncated or was never finished$/);
  });

  it('an audio-only file is E_INPUT_UNREADABLE naming what it found', async () => {
    const file = await media.audioOnly();
    const err = await rejection(probeInput(file));
    expect(err.code).to.equal('E_INPUT_UNREADABLE');
    expect(err.message).to.equal(`input has no video stream: ${file} (found: audio aac)`);
  });

  it('a directory is E_INPUT_UNREADABLE', async () => {
    const err = await rejection(probeInput(media.dir));
    expect(err.code).to.equal('E_INPUT_UNREADABLE');
    expect(err.message).to.contain('is a directory');
  });
});

describe('mediaInfoFromProbe', () => {
  const base = { codec_type: 'video', codec_name: 'h264', width: 640, height: 360 };

  it('swaps width and height for a quarter-turn rotation (side data or legacy tag)', () => {
    const a = mediaInfoFromProbe('x', { streams: [{ ...base, side_data_list: [{ rotation: -90 }] }], format: { format_name: 'mov' } });
    expect([a.width, a.height]).to.deep.equal([360, 640]);
    const b = mediaInfoFromProbe('x', { streams: [{ ...base, tags: { rotate: '270' } }] });
    expect([b.width, b.height]).to.deep.equal([360, 640]);
    const c = mediaInfoFromProbe('x', { streams: [{ ...base, side_data_list: [{ rotation: 180 }] }] });
    expect([c.width, c.height]).to.deep.equal([640, 360]);
  });

  it('takes avg_frame_rate, then r_frame_rate, then 25', () => {
    const fps = (s: object): number => mediaInfoFromProbe('x', { streams: [{ ...base, ...s }] }).fps;
    expect(fps({ avg_frame_rate: '30000/1001', r_frame_rate: '30/1' })).to.be.closeTo(29.97003, 1e-5);
    expect(fps({ avg_frame_rate: '0/0', r_frame_rate: '12/1' })).to.equal(12);
    expect(fps({ avg_frame_rate: '0/0', r_frame_rate: '0/0' })).to.equal(25);
  });

  it('picks the first video stream after others and treats a single-frame stream as an image', () => {
    const info = mediaInfoFromProbe('x', {
      streams: [{ codec_type: 'audio', codec_name: 'aac' }, { ...base, nb_frames: '1', duration: '0.04' }],
      format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2' },
    });
    expect(info).to.include({ width: 640, isImage: true, frameCount: 1 });
  });
});
