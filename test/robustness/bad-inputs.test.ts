import { expect } from 'chai';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { exitCodeFor, InputError, SsdpipeError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { fileSource } from '../../src/sources/file-source.js';
import { sourceWarnings, type SourceReport } from '../../src/sources/source-report.js';
import { probeInput } from '../../src/sources/probe.js';
import { createTestMedia, type TestMedia } from '../helpers/media.js';

// Input by input: each bad file is made here from a good one, then read by fileSource (no model:
// the source decides what is decoded, truncated, damaged or refused).


/** Every frame and the report of one read. */
async function readAll(file: string): Promise<{ frames: Frame[]; report: SourceReport | null }> {
  let report: SourceReport | null = null;
  const frames = await lastValueFrom(fileSource(file, { onReport: (r) => (report = r) }).pipe(toArray()));
  return { frames, report };
}

async function refusal(file: string): Promise<SsdpipeError> {
  try {
    await readAll(file);
  } catch (err) {
    expect(err).to.be.instanceOf(SsdpipeError);
    return err as SsdpipeError;
  }
  throw new Error(`expected ${file} to be refused`);
}

/** Mean absolute difference per byte. */
function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

describe('bad inputs, one by one (fileSource)', function () {
  this.timeout(60_000);
  let media: TestMedia;
  let full: string;
  let fullFrames: Frame[];

  before(async () => {
    media = await createTestMedia();
    // 75 frames, index (moov) at the front, as -movflags +faststart writes it.
    full = await media.clip({ width: 320, height: 240, fps: 25, frames: 75, name: 'full.mp4' });
    fullFrames = (await readAll(full)).frames;
  });
  after(async () => {
    await media?.cleanup();
  });

  async function cutAt(fraction: number): Promise<string> {
    const bytes = await readFile(full);
    const file = path.join(media.dir, `cut-${fraction}.mp4`);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * fraction)));
    return file;
  }

  it('a clean clip: 75 frames, the report says so, no warnings', async () => {
    expect(fullFrames).to.have.length(75);
    const { report } = await readAll(full);
    expect(report).to.deep.equal({ source: 'full.mp4', declared_frames: 75, decoded_frames: 75, truncated: false, decode_errors: 0, first_error: null });
    expect(sourceWarnings(report!)).to.deep.equal([]);
  });

  for (const fraction of [0.6, 0.5]) {
    it(`a faststart MP4 cut at ${fraction * 100}%: the frames before the cut come out, the report says truncated`, async () => {
      const file = await cutAt(fraction);
      const { frames, report } = await readAll(file);
      expect(frames.length).to.be.within(10, 70);
      expect(frames.length).to.equal(await media.countFrames(file));
      frames.forEach((f, i) => expect(f.seq).to.equal(i));
      // The last frame may come from the packet the cut went through, drawn in part.
      frames.slice(0, -1).forEach((f, i) => {
        expect(meanAbsDiff(f.data, fullFrames[i].data), `frame ${i} is the clip's frame ${i}`).to.be.below(1);
      });
      // The errors about the cut packet are part of the truncation, not damage.
      expect(report).to.include({ declared_frames: 75, decoded_frames: frames.length, truncated: true, decode_errors: 0 });
      expect(sourceWarnings(report!)).to.deep.equal([
        `cut-${fraction}.mp4 is truncated: ${frames.length} of the 75 frames its container declares were decoded; the file ends early (cut off or not finished writing)`,
      ]);
    });
  }

  it('an MP4 with corrupt bytes in the middle: decoding goes on past the damage, which is counted', async () => {
    const bytes = Buffer.from(await readFile(full));
    const mdat = bytes.indexOf('mdat');
    // Overwrite 2 KiB of sample data half-way through the frames with noise.
    const at = mdat + Math.floor((bytes.length - mdat) / 2);
    let seed = 7;
    for (let i = at; i < at + 2048; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const file = path.join(media.dir, 'corrupt.mp4');
    await writeFile(file, bytes);
    const { frames, report } = await readAll(file);
    expect(frames.length, 'frames after the damage are decoded too').to.be.at.least(70);
    frames.forEach((f, i) => expect(f.seq).to.equal(i));
    expect(report).to.include({ declared_frames: 75, decoded_frames: frames.length, truncated: false });
    expect(report!.decode_errors).to.be.at.least(1);
    expect(report!.first_error).to.be.a('string').and.not.match(/^\[/);
    // Before the damage the frames are the clip's own; after it they are concealed, not lost.
    expect(meanAbsDiff(frames[5].data, fullFrames[5].data)).to.be.below(1);
    expect(sourceWarnings(report!)[0]).to.match(/^corrupt\.mp4 is damaged: ffmpeg reported \d+ decoding errors? \(first: .+\); decoding went on past them$/);
  });

  describe('refused with one line and exit 3', () => {
    const cases: [string, () => Promise<string>, RegExp][] = [
      ['an mp4 cut in half with its index at the end', () => media.truncatedMp4(), /^input unreadable: .*truncated-\d+\.mp4: the MP4 has no index \(moov atom not found\): it is truncated or was never finished$/],
      ['an audio-only file', () => media.audioOnly(), /^input has no video stream: .*audio-only-\d+\.m4a \(found: audio aac\)$/],
      ['a directory', async () => {
        const dir = path.join(media.dir, 'a-folder.mp4');
        await mkdir(dir, { recursive: true });
        return dir;
      }, /^input unreadable: .*a-folder\.mp4 is a directory$/],
      ['a zero-length file', async () => {
        const f = path.join(media.dir, 'empty.mp4');
        await writeFile(f, '');
        return f;
      }, /^input unreadable: .*empty\.mp4 is empty \(0 bytes\)$/],
      ['a text file named .mp4', () => media.notAVideo(), /^input unreadable: .*not-a-video-\d+\.mp4: Invalid data found when processing input$/],
    ];
    for (const [what, make, message] of cases) {
      it(what, async () => {
        const file = await make();
        const err = await refusal(file);
        expect(err).to.be.instanceOf(InputError);
        expect(err.message).to.match(message).and.not.include('\n');
        expect(err.hint).to.be.a('string');
        expect(exitCodeFor(err)).to.equal(3);
        // probeInput alone says the same: the run fails before the model loads.
        const probed = await probeInput(file).catch((e: unknown) => e as SsdpipeError);
        expect(probed).to.be.instanceOf(InputError);
        expect((probed as SsdpipeError).message).to.equal(err.message);
      });
    }
  });

  it('a video stream with nothing decodable: E_NO_FRAMES, exit 4', async () => {
    const err = await refusal(await media.headerOnlyMp4());
    expect(err.code).to.equal('E_NO_FRAMES');
    expect(exitCodeFor(err)).to.equal(4);
  });

  it('the report of a webm (no frame count in the container) is not truncated', async () => {
    const webm = await media.clip({ width: 64, height: 48, fps: 25, frames: 10, container: 'webm' });
    const { report } = await readAll(webm);
    expect(report).to.include({ declared_frames: null, decoded_frames: 10, truncated: false, decode_errors: 0 });
  });
});
