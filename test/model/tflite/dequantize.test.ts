import { expect } from 'chai';
import { ModelError } from '../../../src/errors.js';
import { dequantize, dequantizeBias, quantizedRange } from '../../../src/model/tflite/dequantize.js';
import type { TfliteTensor } from '../../../src/model/tflite/read-tflite.js';
import { bytesOf, T } from '../../helpers/tflite-builder.js';

const tensor = (t: Partial<TfliteTensor> & Pick<TfliteTensor, 'shape' | 'type'>): TfliteTensor => ({ index: 0, name: 't', data: null, quantization: null, ...t });
const close = (a: ArrayLike<number>, b: number[]): void => {
  expect(a.length).to.equal(b.length);
  b.forEach((v, i) => expect(a[i], `[${i}]`).to.be.closeTo(v, 1e-6));
};

describe('model/tflite/dequantize', () => {
  it('uint8 per tensor: scale * (q - zeroPoint)', () => {
    const t = tensor({ shape: [4], type: 'UINT8', data: bytesOf([0, 128, 129, 255], T.UINT8), quantization: { scale: [0.5], zeroPoint: [128], quantizedDimension: 0 } });
    close(dequantize(t), [-64, 0, 0.5, 63.5]);
  });

  it('int8 per channel along dimension 0 (conv [out, kh, kw, in])', () => {
    // [2, 1, 1, 2]: channel 0 scale 0.1, channel 1 scale 0.5
    const t = tensor({ shape: [2, 1, 1, 2], type: 'INT8', data: bytesOf([-128, 10, 127, -2], T.INT8), quantization: { scale: [0.1, 0.5], zeroPoint: [0, 0], quantizedDimension: 0 } });
    close(dequantize(t), [-12.8, 1, 63.5, -1]);
  });

  it('uint8 per channel along dimension 3 (depthwise [1, kh, kw, C]) with per-channel zero points', () => {
    const t = tensor({ shape: [1, 2, 1, 2], type: 'UINT8', data: bytesOf([10, 20, 30, 40], T.UINT8), quantization: { scale: [1, 2], zeroPoint: [10, 0], quantizedDimension: 3 } });
    close(dequantize(t), [0, 40, 20, 80]);
  });

  it('int32 bias: scale = input scale x weight scale, per output channel', () => {
    const b = tensor({ shape: [2], type: 'INT32', data: bytesOf([1000, -300], T.INT32), quantization: { scale: [0], zeroPoint: [0], quantizedDimension: 0 } });
    close(dequantizeBias(b, 1 / 128, [0.02, 0.04], 2), [1000 * 0.02 / 128, -300 * 0.04 / 128]);
    close(dequantizeBias(b, 0.5, [0.1], 2), [50, -15]);
  });

  it('float32 constants pass through', () => {
    close(dequantize(tensor({ shape: [2], type: 'FLOAT32', data: bytesOf([1.5, -2], T.FLOAT32) })), [1.5, -2]);
  });

  it('the range a quantized activation can hold', () => {
    expect(quantizedRange(tensor({ shape: [1], type: 'UINT8', quantization: { scale: [6 / 255], zeroPoint: [0], quantizedDimension: 0 } }))![1]).to.be.closeTo(6, 1e-9);
    expect(quantizedRange(tensor({ shape: [1], type: 'INT8', quantization: { scale: [0.5], zeroPoint: [-1], quantizedDimension: 0 } }))).to.deep.equal([-63.5, 64]);
    expect(quantizedRange(tensor({ shape: [1], type: 'FLOAT32' }))).to.equal(null);
  });

  it('rejects missing data, a wrong byte count and mismatched per-channel scales', () => {
    expect(() => dequantize(tensor({ shape: [2], type: 'UINT8' }), 'm.tflite')).to.throw(ModelError, /m\.tflite: tensor t has no constant data/);
    expect(() => dequantize(tensor({ shape: [3], type: 'UINT8', data: new Uint8Array(2), quantization: { scale: [1], zeroPoint: [0], quantizedDimension: 0 } }))).to.throw(ModelError, /needs 3 bytes/);
    expect(() => dequantize(tensor({ shape: [3], type: 'UINT8', data: new Uint8Array(3), quantization: { scale: [1, 2], zeroPoint: [0, 0], quantizedDimension: 0 } }))).to.throw(ModelError, /2 scales along dimension 0, expected 3/);
  });
});
