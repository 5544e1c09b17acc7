import { ModelError } from '../errors.js';

/** A dense float32 tensor held in JS memory (row-major, TF layouts: HWIO kernels, HWC1 depthwise). */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** All weights of a model by name. */
export type WeightMap = Map<string, WeightTensor>;

/** One weight in a TF.js weights manifest. */
export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { scale?: number; min?: number; dtype: 'uint8' | 'uint16' | 'float16' };
}
/** One group of a TF.js weights manifest: its shard files and the weights they hold, in order. */
export interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

/**
 * Checks that a parsed manifest group has the shape TF.js writes: `{paths: string[], weights:
 * [{name, shape, dtype, quantization?}]}`, with whole non-negative dims. JSON of another shape
 * fails here with E_WEIGHTS naming `where`, not later as a TypeError or RangeError.
 */
export function checkManifestGroup(group: unknown, where: string): asserts group is ManifestGroup {
  if (!isObject(group)) throw badManifest(where, 'a group {paths, weights}', group);
  const { paths, weights } = group;
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) throw badManifest(where, 'group.paths: an array of file names', paths);
  if (!Array.isArray(weights)) throw badManifest(where, 'group.weights: an array of weights', weights);
  for (const w of weights as unknown[]) {
    if (!isObject(w) || typeof w.name !== 'string') throw badManifest(where, 'a weight {name, shape, dtype}', w);
    const { shape, quantization } = w;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw badManifest(where, `weight ${w.name}: shape as an array of whole numbers >= 0`, shape);
    }
    if (typeof w.dtype !== 'string') throw badManifest(where, `weight ${w.name}: dtype as a string`, w.dtype);
    const numberOrAbsent = (v: unknown): boolean => v === undefined || typeof v === 'number';
    if (quantization !== undefined && !(isObject(quantization) && typeof quantization.dtype === 'string' && numberOrAbsent(quantization.scale) && numberOrAbsent(quantization.min))) {
      throw badManifest(where, `weight ${w.name}: quantization as {dtype, scale?, min?}`, quantization);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Names the kind of a value without calling its toString (JSON may hold any key). */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return `a ${typeof v}`;
}

function badManifest(where: string, expected: string, received: unknown): ModelError {
  return new ModelError('E_WEIGHTS', `weights manifest ${where}: expected ${expected}, received ${kindOf(received)}`, {
    hint: 'the manifest is not a TF.js weights manifest (an array of {paths, weights} groups); reinstall the weights package or fix the descriptor\'s weights.manifest',
  });
}

/**
 * Decodes one manifest group's weights from its shards joined into one buffer, in manifest order.
 * Quantized uint8 weights are dequantized as q * scale + min (the manifest's affine scheme).
 * `where` names the manifest in errors.
 */
export function decodeManifestGroup(group: ManifestGroup, buf: Uint8Array, where: string, out: WeightMap = new Map()): WeightMap {
  checkManifestGroup(group, where);
  let offset = 0;
  for (const w of group.weights) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const q = w.quantization;
    // The size is checked against the shards before the weight is allocated: a manifest that
    // names a huge weight fails here instead of allocating it.
    if (q && q.dtype === 'uint8') {
      if (offset + size > buf.length) throw shardsTooShort(where, w.name);
      const data = new Float32Array(size);
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      for (let i = 0; i < size; i++) data[i] = buf[offset + i] * scale + min;
      offset += size;
      out.set(w.name, { shape: w.shape, data });
    } else if (!q && (w.dtype === 'float32' || w.dtype === 'int32')) {
      if (offset + size * 4 > buf.length) throw shardsTooShort(where, w.name);
      const data = new Float32Array(size);
      const view = new DataView(buf.buffer, buf.byteOffset + offset, size * 4);
      for (let i = 0; i < size; i++) data[i] = w.dtype === 'float32' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
      offset += size * 4;
      out.set(w.name, { shape: w.shape, data });
    } else {
      throw new ModelError('E_WEIGHTS', `weight ${w.name}: unsupported dtype ${w.dtype} / quantization ${q?.dtype}`, {
        hint: 'ssdpipe reads float32, int32 and uint8-quantized TF.js weights',
      });
    }
  }
  if (offset !== buf.length) {
    throw new ModelError('E_WEIGHTS', `weights manifest ${where}: read ${offset} bytes, shards hold ${buf.length}`, {
      hint: 'the .bin files do not match the manifest; reinstall the weights package',
    });
  }
  return out;
}

function shardsTooShort(where: string, name: string): ModelError {
  return new ModelError('E_WEIGHTS', `weights manifest ${where}: the shards end before weight ${name}`, {
    hint: 'the .bin files are truncated or do not match the manifest; reinstall the weights package',
  });
}

/** Looks a weight up by name, failing with the name and expected shape. */
export function requireWeight(weights: WeightMap, name: string, shape?: readonly number[]): WeightTensor {
  const w = weights.get(name);
  if (!w) throw new ModelError('E_WEIGHTS', `weight ${name} is missing`, { hint: 'the weights do not match the model descriptor' });
  if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
    throw new ModelError('E_WEIGHTS', `weight ${name}: expected shape [${shape.join(',')}], received [${w.shape.join(',')}]`, {
      hint: 'the weights do not match the model descriptor',
    });
  }
  return w;
}
