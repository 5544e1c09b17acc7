import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { InputSpec } from '../../src/model/descriptor.js';
import { inputGeometry, preprocessFrame, toSourceBox } from '../../src/model/preprocess.js';

function randomImage(width: number, height: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = s & 0xff;
  }
  return data;
}

/** face-api's reference preprocessing with TF.js ops: pad to square (bottom/right, zeros), bilinear resize, x/127.5-1. */
function tfReference(data: Uint8Array, width: number, height: number, size: number, letterbox: boolean): Float32Array {
  return tf.tidy(() => {
    let img: tf.Tensor4D = tf.tensor4d(Float32Array.from(data), [1, height, width, 3]);
    if (letterbox) {
      const side = Math.max(width, height);
      img = tf.pad(img, [[0, 0], [0, side - height], [0, side - width], [0, 0]]);
    }
    const resized = tf.image.resizeBilinear(img, [size, size], false, false);
    return tf.sub(tf.div(resized, 127.5), 1).dataSync() as Float32Array;
  });
}

describe('preprocessFrame', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  const cases: Array<[number, number, 'letterbox' | 'stretch']> = [
    [640, 360, 'letterbox'],
    [360, 640, 'letterbox'],
    [97, 41, 'letterbox'],
    [640, 360, 'stretch'],
    [50, 50, 'stretch'],
    [800, 600, 'letterbox'],
  ];
  for (const [w, h, mode] of cases) {
    it(`matches tf.image.resizeBilinear (legacy) for ${w}x${h} ${mode}`, () => {
      const size = 64;
      const spec: InputSpec = { width: size, height: size, resize: mode, normalize: { scale: 1 / 127.5, offset: -1 } };
      const img = randomImage(w, h, w * 7 + h);
      const out = new Float32Array(size * size * 3 + 5).fill(42);
      preprocessFrame(img, w, h, spec, out, 5);
      expect(out[4]).to.equal(42); // nothing written before the offset
      const ref = tfReference(img, w, h, size, mode === 'letterbox');
      let maxErr = 0;
      for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(out[5 + i] - ref[i]));
      expect(maxErr).to.be.below(1e-4);
    });
  }

  it('pads letterboxed frames with black (normalized offset) at the bottom', () => {
    const spec: InputSpec = { width: 8, height: 8, resize: 'letterbox', normalize: { scale: 1 / 127.5, offset: -1 } };
    const white = new Uint8Array(16 * 8 * 3).fill(255);
    const out = new Float32Array(8 * 8 * 3);
    const g = preprocessFrame(white, 16, 8, spec, out);
    expect(g).to.deep.equal({ contentWidth: 1, contentHeight: 0.5 });
    expect(out[0]).to.be.closeTo(1, 1e-6); // top-left: white
    expect(out[(7 * 8 + 7) * 3]).to.be.closeTo(-1, 1e-6); // bottom-right: padding
  });
});

describe('inputGeometry / toSourceBox', () => {
  const letterbox: InputSpec = { width: 512, height: 512, resize: 'letterbox', normalize: { scale: 1, offset: 0 } };
  const stretch: InputSpec = { ...letterbox, resize: 'stretch' };

  it('maps letterboxed model boxes back to source-normalized coordinates', () => {
    // 1280x720: content covers the full width and 720/1280 = 0.5625 of the height.
    const g = inputGeometry(1280, 720, letterbox);
    expect(g.contentWidth).to.equal(1);
    expect(g.contentHeight).to.equal(0.5625);
    const box = toSourceBox([0.25, 0.28125, 0.5, 0.5625], g)!;
    expect(box[0]).to.be.closeTo(0.25, 1e-9);
    expect(box[1]).to.be.closeTo(0.5, 1e-9);
    expect(box[2]).to.be.closeTo(0.5, 1e-9);
    expect(box[3]).to.be.closeTo(1, 1e-9);
  });

  it('portrait letterbox scales x, stretch is the identity', () => {
    const g = inputGeometry(360, 640, letterbox);
    expect(toSourceBox([0.1, 0.1, 0.5625, 0.9], g)).to.deep.equal([0.1 / 0.5625, 0.1, 1, 0.9]);
    expect(toSourceBox([0.1, 0.2, 0.3, 0.4], inputGeometry(360, 640, stretch))).to.deep.equal([0.1, 0.2, 0.3, 0.4]);
  });

  it('clips to the frame and drops boxes lying in the padding', () => {
    const g = inputGeometry(1280, 720, letterbox);
    expect(toSourceBox([-0.1, 0.5, 1.2, 0.9], g)).to.deep.equal([0, 0.5 / 0.5625, 1, 1]);
    expect(toSourceBox([0.1, 0.6, 0.3, 0.9], g)).to.equal(null);
  });
});
