import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ModelError } from '../errors.js';
import type { TfjsManifestSource, WeightsSource } from '../model/descriptor.js';
import { checkManifestGroup, decodeManifestGroup, type WeightMap } from '../model/weights.js';

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
  let groups: unknown;
  try {
    groups = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (cause) {
    throw new ModelError('E_WEIGHTS', `cannot read weights manifest ${manifestPath}: ${(cause as Error).message}`, {
      cause,
      hint: 'check the model descriptor\'s weights.manifest path',
    });
  }
  // Check every group before reading any shard: a wrong shape is one E_WEIGHTS naming the file.
  if (!Array.isArray(groups)) {
    throw new ModelError('E_WEIGHTS', `weights manifest ${manifestPath}: expected an array of {paths, weights} groups, received ${groups === null ? 'null' : typeof groups}`, {
      hint: 'check the model descriptor\'s weights.manifest path: it names a TF.js weights manifest (*-weights_manifest.json)',
    });
  }
  const checked = groups.map((group: unknown) => {
    checkManifestGroup(group, manifestPath);
    return group;
  });
  const dir = path.dirname(manifestPath);
  const out: WeightMap = new Map();
  for (const group of checked) {
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
