import { expect } from 'chai';
import { ModelError } from '../../src/errors.js';
import { decodeManifestGroup, requireWeight, type ManifestGroup, type WeightMap } from '../../src/model/weights.js';

/** Little-endian bytes of float32 values. */
function f32Bytes(...v: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(v).buffer);
}

/** Little-endian bytes of int32 values. */
function i32Bytes(...v: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(v).buffer);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function thrown(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('model/weights', () => {
  describe('decodeManifestGroup', () => {
    // One weight of each kind, packed back to back as TF.js writes them: 3 uint8, then 2 float32
    // (at byte 3: unaligned), then 2 int32.
    const group: ManifestGroup = {
      paths: ['shard1of1.bin'],
      weights: [
        { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -2 } },
        { name: 'f', shape: [1, 2], dtype: 'float32' },
        { name: 'i', shape: [2], dtype: 'int32' },
      ],
    };
    const bytes = concat(Uint8Array.of(0, 1, 255), f32Bytes(1.5, -0.25), i32Bytes(-7, 123456));

    it('dequantizes uint8 as q * scale + min and reads float32 and int32 little-endian, in manifest order', () => {
      const out = decodeManifestGroup(group, bytes, 'test.json');
      expect([...out.keys()]).to.deep.equal(['q', 'f', 'i']);
      expect(Array.from(out.get('q')!.data)).to.deep.equal([-2, -1.5, 125.5]);
      expect(out.get('f')).to.deep.equal({ shape: [1, 2], data: Float32Array.of(1.5, -0.25) });
      expect(Array.from(out.get('i')!.data)).to.deep.equal([-7, 123456]);
      expect(out.get('i')!.data).to.be.instanceOf(Float32Array);
    });

    it('reads from a view that does not start at its buffer\'s first byte', () => {
      const padded = new Uint8Array(bytes.length + 5);
      padded.set(bytes, 5);
      const out = decodeManifestGroup(group, padded.subarray(5), 'test.json');
      expect(Array.from(out.get('f')!.data)).to.deep.equal([1.5, -0.25]);
      expect(Array.from(out.get('i')!.data)).to.deep.equal([-7, 123456]);
    });

    it('takes scale 1 and min 0 when the quantization leaves them out', () => {
      const g: ManifestGroup = { paths: [], weights: [{ name: 'q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8' } }] };
      expect(Array.from(decodeManifestGroup(g, Uint8Array.of(3, 200), 'x').get('q')!.data)).to.deep.equal([3, 200]);
    });

    it('adds to the map it is given (a manifest of several groups)', () => {
      const out: WeightMap = new Map([['earlier', { shape: [1], data: Float32Array.of(9) }]]);
      const returned = decodeManifestGroup(group, bytes, 'test.json', out);
      expect(returned).to.equal(out);
      expect([...out.keys()]).to.deep.equal(['earlier', 'q', 'f', 'i']);
    });

    it('shards that end before a weight: E_WEIGHTS naming the manifest and the weight', () => {
      for (const cut of [2, 6, bytes.length - 1]) {
        const err = thrown(() => decodeManifestGroup(group, bytes.subarray(0, cut), 'models/x.json'));
        const victim = cut < 3 ? 'q' : cut < 11 ? 'f' : 'i';
        expect(err.code).to.equal('E_WEIGHTS');
        expect(err.message, `cut at ${cut}`).to.equal(`weights manifest models/x.json: the shards end before weight ${victim}`);
        expect(err.hint).to.match(/truncated/);
      }
    });

    it('shards longer than the manifest says: E_WEIGHTS with both sizes', () => {
      const err = thrown(() => decodeManifestGroup(group, concat(bytes, Uint8Array.of(0, 0)), 'models/x.json'));
      expect(err.code).to.equal('E_WEIGHTS');
      expect(err.message).to.equal(`weights manifest models/x.json: read ${bytes.length} bytes, shards hold ${bytes.length + 2}`);
      expect(err.hint).to.match(/do not match the manifest/);
    });

    it('an unsupported dtype or quantization: E_WEIGHTS saying what is read', () => {
      const g: ManifestGroup = { paths: [], weights: [{ name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } }] };
      const err = thrown(() => decodeManifestGroup(g, new Uint8Array(4), 'x'));
      expect(err.code).to.equal('E_WEIGHTS');
      expect(err.message).to.equal('weight h: unsupported dtype float32 / quantization float16');
      expect(err.hint).to.match(/float32, int32 and uint8/);
    });
    it('a group of the wrong shape or a bad dim (found by test/fuzz): E_WEIGHTS before anything is allocated', () => {
      const entry = (shape: number[]): ManifestGroup => ({ paths: [], weights: [{ name: 'w', shape, dtype: 'float32' }] });
      const cases: [unknown, RegExp][] = [
        [null, /expected a group \{paths, weights\}, received null/],
        [{ paths: [], weights: 'w' }, /expected group\.weights: an array of weights, received a string/],
        [{ paths: [], weights: [null] }, /expected a weight \{name, shape, dtype\}, received null/],
        [entry([-1]), /weight w: shape as an array of whole numbers >= 0, received an array/],
        [entry([1.5]), /weight w: shape/],
        [entry([Number.NaN]), /weight w: shape/],
      ];
      for (const [group, message] of cases) {
        const err = thrown(() => decodeManifestGroup(group as ManifestGroup, new Uint8Array(64), 'x.json'));
        expect(err.code).to.equal('E_WEIGHTS');
        expect(err.message).to.match(/^weights manifest x\.json: /).and.match(message);
      }
      // A huge weight is refused by the shard size, not allocated first.
      expect(thrown(() => decodeManifestGroup(entry([2 ** 20, 2 ** 20]), new Uint8Array(4), 'x.json')).message).to.include('the shards end before weight w');
    });
  });

  describe('requireWeight', () => {
    const weights: WeightMap = new Map([['conv/weights', { shape: [3, 3, 2, 4], data: new Float32Array(72) }]]);

    it('returns the weight, checking the shape when one is given', () => {
      expect(requireWeight(weights, 'conv/weights')).to.equal(weights.get('conv/weights'));
      expect(requireWeight(weights, 'conv/weights', [3, 3, 2, 4])).to.equal(weights.get('conv/weights'));
    });

    it('fails with E_WEIGHTS naming a missing weight, or the expected and received shapes', () => {
      const missing = thrown(() => requireWeight(weights, 'conv/bias'));
      expect(missing).to.include({ code: 'E_WEIGHTS', message: 'weight conv/bias is missing' });
      const wrong = thrown(() => requireWeight(weights, 'conv/weights', [3, 3, 4, 2]));
      expect(wrong.message).to.equal('weight conv/weights: expected shape [3,3,4,2], received [3,3,2,4]');
      expect(thrown(() => requireWeight(weights, 'conv/weights', [72])).message).to.match(/expected shape \[72\]/);
      expect(wrong.hint).to.match(/do not match the model descriptor/);
    });
  });
});
