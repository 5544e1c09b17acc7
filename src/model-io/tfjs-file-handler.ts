import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { ModelError } from '../errors.js';
import { checkManifestGroup, type ManifestGroup } from '../model/weights.js';

// tfjs-core registers IO handlers for http(s) and the browser's stores, not for files (that one
// lives in tfjs-node, an optional native package). This handler reads a model.json and the weight
// shards its weightsManifest lists from disk and hands tfjs the same ModelArtifacts the http
// handler would: the manifest's weight specs in order, and the shards joined in that order. Only
// types come from tfjs-core, so reading a model needs no runtime loaded.

/** Bytes per value of each stored dtype (a quantized weight is stored as its quantization dtype). */
const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** An io.IOHandler whose load() reads `modelJsonPath` and its shards (see the header comment). */
export function fileModelHandler(modelJsonPath: string): io.IOHandler {
  return { load: () => loadModelArtifacts(path.resolve(modelJsonPath)) };
}

/** model.json and its shards as ModelArtifacts; every failure is a ModelError naming the file. */
export async function loadModelArtifacts(modelJsonPath: string): Promise<io.ModelArtifacts> {
  const json = await readModelJson(modelJsonPath);
  const dir = path.dirname(modelJsonPath);
  const groups = json.weightsManifest;
  const weightSpecs = groups.flatMap((g) => g.weights) as io.WeightsManifestEntry[];
  const shards: Uint8Array[] = [];
  for (const [i, group] of groups.entries()) {
    const bytes = await Promise.all(group.paths.map((p) => readShard(modelJsonPath, dir, p)));
    const got = bytes.reduce((n, b) => n + b.byteLength, 0);
    const want = groupBytes(group);
    if (want !== undefined && got !== want) {
      throw new ModelError('E_WEIGHTS', `TF.js model ${modelJsonPath}: weight group ${i + 1} (${group.paths.join(', ')}) holds ${got} bytes, its weights need ${want}`, {
        hint: 'a shard is truncated or belongs to another model: download the model again (ssdpipe models pull <name>) or copy its files again',
      });
    }
    shards.push(...bytes);
  }
  const weightData = joinBytes(shards);
  const { modelTopology, format, generatedBy, convertedBy, signature, userDefinedMetadata, modelInitializer, initializerSignature } = json;
  return {
    modelTopology,
    weightSpecs,
    weightData,
    ...definedOnly({ format, generatedBy, convertedBy, signature, userDefinedMetadata, modelInitializer, initializerSignature }),
  } as io.ModelArtifacts;
}

/** The parts of model.json the handler reads, checked. */
interface ModelJsonFile {
  modelTopology: object;
  weightsManifest: ManifestGroup[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: object;
  userDefinedMetadata?: Record<string, object>;
  modelInitializer?: object;
  initializerSignature?: object;
}

async function readModelJson(file: string): Promise<ModelJsonFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError('E_MODEL', missing ? `TF.js model ${file} not found` : `cannot read TF.js model ${file}: ${(cause as Error).message}`, {
      cause,
      hint: missing ? 'check the path given to --model (a model.json, or the folder holding it)' : 'model.json is written by tensorflowjs_converter; download or convert the model again',
    });
  }
  const m = raw as Partial<ModelJsonFile> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof m.modelTopology !== 'object' || m.modelTopology === null) {
    throw new ModelError('E_MODEL', `TF.js model ${file}: expected a model.json with modelTopology and weightsManifest`, {
      hint: 'model.json is written by tensorflowjs_converter (a graph model: --output_format tfjs_graph_model)',
    });
  }
  if (!Array.isArray(m.weightsManifest)) {
    throw new ModelError('E_WEIGHTS', `TF.js model ${file}: weightsManifest must be an array of {paths, weights} groups`, {
      hint: 'model.json is written by tensorflowjs_converter; download or convert the model again',
    });
  }
  for (const g of m.weightsManifest) checkManifestGroup(g, file);
  return m as ModelJsonFile;
}

/** One shard, named relative to model.json; it must stay in model.json's folder. */
async function readShard(modelJsonPath: string, dir: string, name: string): Promise<Uint8Array> {
  const file = path.resolve(dir, name);
  if (path.isAbsolute(name) || path.relative(dir, file).startsWith('..')) {
    throw new ModelError('E_WEIGHTS', `TF.js model ${modelJsonPath}: weight shard ${JSON.stringify(name)} is outside the model's folder`, {
      hint: 'a weightsManifest path names a file next to model.json',
    });
  }
  try {
    return await readFile(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError('E_WEIGHTS', `TF.js model ${modelJsonPath}: ${missing ? `weight shard ${file} is missing` : `cannot read weight shard ${file}: ${(cause as Error).message}`}`, {
      cause,
      hint: 'keep every file model.json lists in its weightsManifest next to it (download the model again with ssdpipe models pull <name>, or copy the whole folder)',
    });
  }
}

/** Bytes a group's weights take, or undefined when that is not known up front (strings). */
function groupBytes(group: ManifestGroup): number | undefined {
  let total = 0;
  for (const w of group.weights) {
    const stored = (w as { quantization?: { dtype?: string } }).quantization?.dtype ?? w.dtype;
    const size = STORED_BYTES[stored];
    if (size === undefined) return undefined;
    total += w.shape.reduce((a, b) => a * b, 1) * size;
  }
  return total;
}

/** The shards joined into one ArrayBuffer, in order. */
function joinBytes(parts: readonly Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out.buffer;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
