import { ModelError } from '../../errors.js';
import type { TfliteTensor } from './read-tflite.js';

/*
 * TFLite affine quantization: real = scale * (q - zeroPoint), one (scale, zeroPoint) per
 * tensor or, per channel, one per index of shape[quantizedDimension]. Biases of quantized
 * convolutions are int32 with zero point 0 and scale = input scale * weight scale (per output
 * channel), so they add straight into the int32 accumulator.
 */

/** Integer range [min, max] of a quantized tensor type. */
const INT_RANGE: Record<string, [number, number]> = {
  UINT8: [0, 255],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
};

/** Reads constant tensor data as numbers without scaling: [size] in the tensor's row-major order. */
export function rawValues(t: TfliteTensor, source = 'the model'): Float64Array | Float32Array {
  const data = t.data;
  if (!data) throw new ModelError('E_MODEL', `${source}: tensor ${t.name} has no constant data`, { hint: 'expected a constant (weights, bias or anchors) here' });
  const size = t.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = t.type === 'FLOAT32' || t.type === 'INT32' ? 4 : t.type === 'INT16' ? 2 : t.type === 'UINT8' || t.type === 'INT8' ? 1 : 0;
  if (width === 0) {
    throw new ModelError('E_MODEL', `${source}: tensor ${t.name} has type ${t.type}; ssdpipe reads FLOAT32, INT32, INT16, UINT8 and INT8 constants`, {
      hint: 'convert the model with float32 or uint8/int8 weights',
    });
  }
  if (data.length !== size * width) {
    throw new ModelError('E_MODEL', `${source}: tensor ${t.name} [${t.shape.join(',')}] ${t.type} needs ${size * width} bytes, its buffer has ${data.length}`, {
      hint: 'the .tflite file is damaged',
    });
  }
  if (t.type === 'FLOAT32') {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = t.type === 'INT32' ? view.getInt32(i * 4, true)
      : t.type === 'INT16' ? view.getInt16(i * 2, true)
      : t.type === 'INT8' ? view.getInt8(i)
      : view.getUint8(i);
  }
  return out;
}

/**
 * Dequantizes a constant tensor to float32 (per tensor or per channel along
 * quantization.quantizedDimension). FLOAT32 tensors are returned as read; `scaleOverride`
 * replaces the tensor's scales (biases: input scale x weight scale).
 */
export function dequantize(t: TfliteTensor, source = 'the model', scaleOverride?: readonly number[]): Float32Array {
  const raw = rawValues(t, source);
  const q = t.quantization;
  if (t.type === 'FLOAT32' && !scaleOverride) return raw as Float32Array;
  const scale = scaleOverride ?? q?.scale;
  if (!scale || scale.length === 0) {
    throw new ModelError('E_MODEL', `${source}: tensor ${t.name} is ${t.type} without quantization parameters`, { hint: 'the model mixes integer constants with float math; ssdpipe cannot tell their scale' });
  }
  const zeroPoint = q?.zeroPoint ?? [];
  const out = new Float32Array(raw.length);
  if (scale.length === 1) {
    const s = scale[0];
    const z = zeroPoint[0] ?? 0;
    for (let i = 0; i < raw.length; i++) out[i] = s * (raw[i] - z);
    return out;
  }
  // Per channel: index i belongs to channel floor(i / inner) % channels, inner = product of the
  // dimensions after the quantized one.
  const dim = q?.quantizedDimension ?? 0;
  const channels = t.shape[dim];
  if (channels !== scale.length) {
    throw new ModelError('E_MODEL', `${source}: tensor ${t.name} [${t.shape.join(',')}] has ${scale.length} scales along dimension ${dim}, expected ${channels}`, { hint: 'the .tflite file is damaged' });
  }
  let inner = 1;
  for (let d = dim + 1; d < t.shape.length; d++) inner *= t.shape[d];
  for (let i = 0; i < raw.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = scale[c] * (raw[i] - (zeroPoint.length > 1 ? zeroPoint[c] : (zeroPoint[0] ?? 0)));
  }
  return out;
}

/**
 * Dequantizes an int32 conv bias: scale per output channel = input scale * weight scale[c]
 * (zero point 0), as TFLite's quantized kernels assume. Float biases are returned as read.
 */
export function dequantizeBias(bias: TfliteTensor, inputScale: number, weightScales: readonly number[], channels: number, source = 'the model'): Float32Array {
  if (bias.type === 'FLOAT32') return dequantize(bias, source);
  const scales = Array.from({ length: channels }, (_, c) => inputScale * (weightScales.length === 1 ? weightScales[0] : weightScales[c]));
  return dequantize(bias, source, scales);
}

/**
 * The real values a quantized activation tensor can hold, [min, max]; null for float tensors.
 * A uint8 model cannot produce values outside it: the float graph clips to the same range.
 */
export function quantizedRange(t: TfliteTensor): [number, number] | null {
  const q = t.quantization;
  const r = INT_RANGE[t.type];
  if (!q || !r || q.scale.length !== 1) return null;
  const z = q.zeroPoint[0] ?? 0;
  return [q.scale[0] * (r[0] - z), q.scale[0] * (r[1] - z)];
}
