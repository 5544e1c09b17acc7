import { expect } from 'chai';
import { SsdpipeError } from '../../src/errors.js';
import { FrameCutter } from '../../src/sources/frame-cutter.js';
import { SeededRandom } from '../../src/seeded-random.js';

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** A stream of `frames` frames where byte i of frame f is (f * 31 + i) & 255. */
function stream(frameBytes: number, frames: number, extra = 0): Uint8Array {
  const out = new Uint8Array(frameBytes * frames + extra);
  for (let f = 0; f <= frames; f++) {
    for (let i = 0; i < frameBytes && f * frameBytes + i < out.length; i++) out[f * frameBytes + i] = (f * 31 + i) & 255;
  }
  return out;
}

function split(bytes: Uint8Array, sizes: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, Math.max(1, sizes()));
    // Each chunk gets its own buffer, as a child's stdout delivers them.
    chunks.push(Uint8Array.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return chunks;
}

function expectFrames(frames: Uint8Array[], frameBytes: number, count: number): void {
  expect(frames).to.have.length(count);
  frames.forEach((frame, f) => {
    expect(frame.length, `frame ${f} length`).to.equal(frameBytes);
    for (let i = 0; i < frameBytes; i++) {
      if (frame[i] !== ((f * 31 + i) & 255)) expect.fail(`frame ${f} byte ${i}: ${frame[i]} != ${(f * 31 + i) & 255}`);
    }
  });
}

describe('FrameCutter', () => {
  it('rejects a non-positive or fractional frame size', () => {
    for (const bad of [0, -3, 1.5, NaN]) {
      expect(() => new FrameCutter(bad)).to.throw(SsdpipeError).with.property('code', 'E_BAD_OPTION');
    }
  });

  const cases: Array<{ name: string; frameBytes: number; frames: number; sizes: (r: () => number) => () => number }> = [
    { name: '1-byte chunks', frameBytes: 12, frames: 5, sizes: () => () => 1 },
    { name: 'chunks of exactly one frame', frameBytes: 48, frames: 6, sizes: () => () => 48 },
    { name: 'chunks of exactly three frames', frameBytes: 48, frames: 9, sizes: () => () => 144 },
    { name: 'chunks a little larger than a frame', frameBytes: 48, frames: 10, sizes: () => () => 50 },
    { name: 'chunks a little smaller than a frame', frameBytes: 48, frames: 10, sizes: () => () => 47 },
    { name: 'random chunk sizes 1..200', frameBytes: 75, frames: 40, sizes: (r) => () => 1 + Math.floor(r() * 200) },
    { name: 'random chunk sizes 1..5 (frames span many chunks)', frameBytes: 64 * 3, frames: 7, sizes: (r) => () => 1 + Math.floor(r() * 5) },
    { name: 'one chunk holding everything', frameBytes: 30, frames: 11, sizes: () => () => 1e9 },
  ];
  for (const c of cases) {
    it(`cuts ${c.frames} frames of ${c.frameBytes} bytes from ${c.name}`, () => {
      for (const seed of [1, 2, 3]) {
        const cutter = new FrameCutter(c.frameBytes);
        const frames = split(stream(c.frameBytes, c.frames), c.sizes(rng(seed))).flatMap((ch) => cutter.push(ch));
        expectFrames(frames, c.frameBytes, c.frames);
        expect(cutter.remainder).to.equal(0);
      }
    });
  }

  it('reports a truncated last frame as remainder and does not emit it', () => {
    const cutter = new FrameCutter(40);
    const frames = split(stream(40, 3, 17), rng(9)).flatMap((ch) => cutter.push(ch));
    expectFrames(frames, 40, 3);
    expect(cutter.remainder).to.equal(17);
  });

  it('returns views of the chunk for whole frames and copies only straddling ones', () => {
    const cutter = new FrameCutter(10);
    const a = Uint8Array.from(stream(10, 2, 5)); // frames 0, 1 and half of frame 2
    const b = Uint8Array.from(stream(10, 4).subarray(25)); // the rest of frame 2, frame 3
    const fromA = cutter.push(a);
    expect(fromA).to.have.length(2);
    expect(fromA[0].buffer).to.equal(a.buffer);
    expect(fromA[1].buffer).to.equal(a.buffer);
    expect(fromA[1].byteOffset).to.equal(10);
    const fromB = cutter.push(b);
    expect(fromB).to.have.length(2);
    expect(fromB[0].buffer, 'straddling frame is a fresh copy').to.not.equal(a.buffer).and.not.equal(b.buffer);
    expect(fromB[1].buffer).to.equal(b.buffer);
    expectFrames([...fromA, ...fromB], 10, 4);
  });

  it('assembles straddling frames in buffers from the allocator it was given', () => {
    const given: Uint8Array[] = [];
    const cutter = new FrameCutter(10, (n) => {
      const b = new Uint8Array(n).fill(99); // stale contents must be overwritten
      given.push(b);
      return b;
    });
    const all = stream(10, 3);
    const frames = [...cutter.push(all.subarray(0, 15)), ...cutter.push(all.subarray(15, 30))];
    expect(given).to.have.length(1);
    expect(frames[1]).to.equal(given[0]);
    expectFrames(frames, 10, 3);
  });

  it('returns plain Uint8Array views even when fed Buffers', () => {
    const cutter = new FrameCutter(4);
    const frames = cutter.push(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(frames.map((f) => f.constructor)).to.deep.equal([Uint8Array, Uint8Array]);
    expect(Array.from(frames[1])).to.deep.equal([5, 6, 7, 8]);
  });

  it('ignores empty chunks', () => {
    const cutter = new FrameCutter(3);
    expect(cutter.push(new Uint8Array(0))).to.deep.equal([]);
    cutter.push(Uint8Array.of(0, 1));
    expect(cutter.push(new Uint8Array(0))).to.deep.equal([]);
    expect(cutter.remainder).to.equal(2);
  });
});
