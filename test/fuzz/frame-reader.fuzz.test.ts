import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { FrameCutter } from '../../src/sources/frame-cutter.js';
import { FlowControl } from '../../src/sources/flow-control.js';
import { readRawFrames } from '../../src/sources/frame-reader.js';
import { SeededRandom } from '../../src/seeded-random.js';
import { forCases, fuzzSeed } from './fuzz.js';

// Random bytes in random chunk sizes: the cutter and the reader give back exactly the stream's
// whole frames, in order, and drop only a trailing partial frame, whatever the chunking, the
// frame size and the flow control's credit.

describe('fuzz: frame cutter and reader (random chunks, random bytes)', function () {
  this.timeout(20_000);
  const seed = fuzzSeed();

  /** A random stream of `frames` frames plus a partial one, cut into random chunks. */
  function randomStream(r: SeededRandom, frameBytes: number): { bytes: Uint8Array; chunks: Uint8Array[]; whole: number } {
    const whole = r.int(0, 12);
    const bytes = new Uint8Array(whole * frameBytes + r.int(0, frameBytes - 1));
    for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(0, 255);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = r.chance(0.2) ? r.int(1, 3) : r.int(1, frameBytes * 3);
      chunks.push(bytes.slice(at, at + size)); // fresh arrays, as a child's stdout gives
      at += size;
    }
    return { bytes, chunks, whole };
  }

  it(`FrameCutter: frames are the stream's bytes, in order (seed ${seed})`, async () => {
    const r = new SeededRandom(seed);
    const cases = await forCases(1500, 200, (n) => {
      const frameBytes = r.chance(0.2) ? r.int(1, 4) : r.int(5, 5000);
      const { bytes, chunks, whole } = randomStream(r, frameBytes);
      const cutter = new FrameCutter(frameBytes);
      const frames = chunks.flatMap((c) => cutter.push(c));
      const where = `seed ${seed}, case ${n}, frameBytes ${frameBytes}`;
      expect(frames.length, where).to.equal(whole);
      frames.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(bytes.subarray(i * frameBytes, (i + 1) * frameBytes))), `${where}, frame ${i}`).to.equal(true));
      expect(cutter.remainder, where).to.equal(bytes.length - whole * frameBytes);
    });
    expect(cases).to.be.at.least(200);
  });

  it(`readRawFrames: every whole frame once, in order, under random credit; onEnd once (seed ${seed})`, async () => {
    const r = new SeededRandom(seed + 1);
    await forCases(2500, 40, async (n) => {
      const width = r.int(1, 20);
      const height = r.int(1, 20);
      const frameBytes = width * height * 3;
      const { bytes, chunks, whole } = randomStream(r, frameBytes);
      const flow = r.chance(0.7) ? new FlowControl(r.int(1, 4)) : undefined;
      const stream = new PassThrough();
      const got: Uint8Array[] = [];
      let ends = 0;
      const where = `seed ${seed + 1}, case ${n}, ${width}x${height}, ${whole} frames`;
      const finished = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${where}: no end within 2 s (hang)`)), 2000);
        const reader = readRawFrames(stream, { width, height, flow }, (data) => {
          got.push(Uint8Array.from(data));
          // The pipeline finishes frames later, in random batches.
          if (flow && r.chance(0.8)) setImmediate(() => flow.release(1));
          else if (flow) setTimeout(() => flow.release(1), r.int(0, 3));
        }, () => {
          ends++;
          clearTimeout(timer);
          setImmediate(resolve); // a second onEnd would show up in `ends`
        });
        stream.on('end', () => setTimeout(() => reader.producerDone(), r.int(0, 2)));
      });
      for (const c of chunks) {
        if (!stream.write(c)) await new Promise((resolve) => stream.once('drain', resolve));
      }
      stream.end();
      await finished;
      expect(ends, where).to.equal(1);
      expect(got.length, where).to.equal(whole);
      got.forEach((f, i) => expect(Buffer.from(f).equals(Buffer.from(bytes.subarray(i * frameBytes, (i + 1) * frameBytes))), `${where}, frame ${i}`).to.equal(true));
    });
  });
});
