import { expect } from 'chai';
import { decodeBox, decodeBoxes, encodeBox } from '../../src/model/box-coder.js';
import type { BoxCoderSpec } from '../../src/model/descriptor.js';

const TF: BoxCoderSpec = { type: 'tf', scales: [10, 10, 5, 5] };
const CAFFE: BoxCoderSpec = { type: 'caffe', variances: [0.1, 0.1, 0.2, 0.2] };

// Two anchors [cy, cx, h, w]: a unit-ish one and an off-center tall one.
const ANCHORS = new Float32Array([
  0.5, 0.5, 1.0, 1.0,
  0.5, 0.4, 0.2, 0.1,
]);

function expectClose(got: ArrayLike<number>, want: number[], tol = 1e-6): void {
  expect(got.length).to.equal(want.length);
  want.forEach((w, k) => expect(got[k], `component ${k} of [${Array.from(got).join(', ')}]`).to.be.closeTo(w, tol));
}

describe('box coder', () => {
  describe('decodeBox golden values (anchor 1: cy 0.5, cx 0.4, h 0.2, w 0.1)', () => {
    const table: { name: string; coder: BoxCoderSpec; enc: number[]; box: number[] }[] = [
      // zero encoding → the anchor's own corners: x 0.4 -+ 0.05, y 0.5 -+ 0.1
      { name: 'tf, zero encoding', coder: TF, enc: [0, 0, 0, 0], box: [0.35, 0.4, 0.45, 0.6] },
      { name: 'caffe, zero encoding', coder: CAFFE, enc: [0, 0, 0, 0], box: [0.35, 0.4, 0.45, 0.6] },
      // tf (ty, tx, th, tw) = (1, -2, 5 ln 2, 0):
      //   cy = 1/10 * 0.2 + 0.5 = 0.52; cx = -2/10 * 0.1 + 0.4 = 0.38; h = e^(ln 2) * 0.2 = 0.4; w = 0.1
      //   → x1 0.33, y1 0.32, x2 0.43, y2 0.72
      { name: 'tf, shifted and scaled', coder: TF, enc: [1, -2, 5 * Math.LN2, 0], box: [0.33, 0.32, 0.43, 0.72] },
      // caffe (tx, ty, tw, th) = (2, -1, 5 ln 3, 0):
      //   cx = 2 * 0.1 * 0.1 + 0.4 = 0.42; cy = -1 * 0.1 * 0.2 + 0.5 = 0.48; w = e^(ln 3) * 0.1 = 0.3; h = 0.2
      //   → x1 0.27, y1 0.38, x2 0.57, y2 0.58
      { name: 'caffe, shifted and scaled', coder: CAFFE, enc: [2, -1, 5 * Math.log(3), 0], box: [0.27, 0.38, 0.57, 0.58] },
      // the same numbers read in the other coder's order give a different box (orders matter):
      // caffe (tx, ty, tw, th) = (1, -2, 5 ln 2, 0): cx = 0.41, cy = 0.46, w = e^(0.2 * 5 ln 2) * 0.1 = 0.2, h = 0.2
      { name: 'caffe reading tf-ordered numbers', coder: CAFFE, enc: [1, -2, 5 * Math.LN2, 0], box: [0.31, 0.36, 0.51, 0.56] },
    ];
    for (const { name, coder, enc, box } of table) {
      it(name, () => {
        // anchor 0's encoding is garbage: decodeBox must read row i only
        const encodings = new Float32Array([9, 9, 9, 9, ...enc]);
        const out = new Float32Array(7).fill(-1);
        decodeBox(encodings, ANCHORS, 1, coder, out, 2);
        expectClose(out.subarray(2, 6), box);
        expect(out[0]).to.equal(-1);
        expect(out[6]).to.equal(-1);
      });
    }
  });

  it('decodeBoxes decodes every anchor into [n, 4] x1y1x2y2', () => {
    // anchor 0 (0.5, 0.5, 1, 1) with tf (ty, tx, th, tw) = (0, 0, 5 ln 0.5, 0): h 0.5 → y 0.25..0.75, x 0..1
    const enc = new Float32Array([0, 0, 5 * Math.log(0.5), 0, 1, -2, 5 * Math.LN2, 0]);
    const boxes = decodeBoxes(enc, ANCHORS, TF);
    expect(boxes).to.be.instanceOf(Float32Array);
    expectClose(boxes, [0, 0.25, 1, 0.75, 0.33, 0.32, 0.43, 0.72]);
  });

  it('encodeBox golden values are the decode inputs above', () => {
    const out = [0, 0, 0, 0];
    encodeBox([0.33, 0.32, 0.43, 0.72], ANCHORS, 1, TF, out);
    expectClose(out, [1, -2, 5 * Math.LN2, 0], 1e-5);
    encodeBox([0.27, 0.38, 0.57, 0.58], ANCHORS, 1, CAFFE, out);
    expectClose(out, [2, -1, 5 * Math.log(3), 0], 1e-5);
  });

  for (const coder of [TF, CAFFE]) {
    it(`${coder.type}: encode then decode round-trips random boxes`, () => {
      let seed = 12345;
      const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const enc = new Float64Array(8); // [2 anchors, 4]
      const box = new Float64Array(4);
      for (let t = 0; t < 200; t++) {
        const x1 = rand() * 0.8, y1 = rand() * 0.8;
        const want = [x1, y1, x1 + 0.01 + rand() * 0.5, y1 + 0.01 + rand() * 0.5];
        const i = t % 2;
        encodeBox(want, ANCHORS, i, coder, enc, i * 4);
        decodeBox(enc, ANCHORS, i, coder, box);
        expectClose(box, want, 1e-9);
      }
    });
  }
});

describe('box coder none (boxes decoded by the network)', () => {
  const NONE: BoxCoderSpec = { type: 'none' };

  it('reorders [ymin, xmin, ymax, xmax] to [x1, y1, x2, y2] without reading anchors; encodeBox is its inverse', () => {
    const enc = new Float32Array([0.1, 0.2, 0.5, 0.6, -0.1, 0.3, 1.2, 0.4]);
    expect([...decodeBoxes(enc, new Float32Array(0), NONE)].map((v) => Math.round(v * 100) / 100)).to.deep.equal([0.2, 0.1, 0.6, 0.5, 0.3, -0.1, 0.4, 1.2]);
    const out = [0, 0, 0, 0];
    decodeBox(enc, new Float32Array(0), 1, NONE, out);
    const back = [0, 0, 0, 0];
    encodeBox(out, new Float32Array(0), 0, NONE, back);
    expect(back.map((v) => Math.round(v * 100) / 100)).to.deep.equal([-0.1, 0.3, 1.2, 0.4]);
  });
});
