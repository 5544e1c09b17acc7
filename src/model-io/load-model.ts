import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { buildSsdGraph, type SsdGraph } from '../model/ssd-graph.js';
import type { TfjsGraphModel } from '../model/tfjs-graph-model.js';
import type { WeightMap } from '../model/weights.js';
import type { OnnxModelFile } from '../onnx/onnx-model-file.js';
import { isOnnxPath, readOnnxModel } from './load-onnx.js';
import { findTfjsModelJson, isHttpUrl, readTfjsGraphModel } from './load-tfjs-graph.js';
import { isTflitePath, loadTfliteModel, readTfliteFile, type TfliteFileOptions } from './load-tflite.js';
import { findCatalogEntry, MODEL_CATALOG } from './model-catalog.js';
import { cachedModel, pullModel, type PullOptions } from './pull-model.js';
import { loadWeights } from './read-weights.js';

/** The package's models/ folder (works from src/ under tsx and from dist/). */
export const MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

/** Name of the embedded default model. */
export const DEFAULT_MODEL = 'face';

/** A descriptor with its weights and lowered graph, ready for an engine. */
export interface LoadedModel {
  readonly descriptor: ModelDescriptor;
  /** Where the descriptor was read from (for a .tflite model, the .tflite file). */
  readonly descriptorPath: string;
  /** Named weights the graph was built from; empty for an imported model (its weights are in the graph). */
  readonly weights: WeightMap;
  readonly graph: SsdGraph;
}

/** Options of loading a model: the label map of a .tflite model; how a catalog model is downloaded on first use. */
export type LoadModelOptions = TfliteFileOptions & { download?: PullOptions };

/**
 * Finds a model descriptor: a bundled name (models/<name>.json), a downloadable model's name
 * (its verified file in the cache; see ensureModel), a path to a .json file, a .tflite or .onnx
 * model, or a TF.js graph model (model.json, the folder holding it, or its http(s) URL).
 */
export function resolveDescriptorPath(model: string, download: PullOptions = {}): string {
  return resolveModelFiles(model, download).path;
}

/** The file of a model argument, and the label map that comes with it (a downloaded .tflite's). */
function resolveModelFiles(model: string, download: PullOptions): { path: string; labels?: string } {
  if (isHttpUrl(model)) return { path: model };
  if (/^file:\/\//i.test(model)) model = fileURLToPath(model);
  const isName = /^[\w-]+$/.test(model);
  const bundled = path.join(MODELS_DIR, `${model}.json`);
  if (isName && existsSync(bundled)) return { path: bundled };
  const entry = isName ? findCatalogEntry(model) : undefined;
  if (entry) {
    const cached = cachedModel(entry, download);
    if (!cached) {
      throw new ModelError('E_MODEL', `model ${model} is not downloaded yet (or its cached copy failed verification)`, {
        hint: `run: ssdpipe models pull ${model}`,
      });
    }
    return { path: cached.modelPath, labels: cached.labelsPath };
  }
  const asPath = path.resolve(model);
  // A folder holding a TF.js model.json stands for that file.
  if (existsSync(asPath)) return { path: findTfjsModelJson(asPath) ?? asPath };
  throw new ModelError('E_MODEL', `model ${JSON.stringify(model)} not found (not a bundled model name nor a descriptor file)`, {
    hint: `use a bundled model (${listBundledModels().join(', ')}), a downloadable one (${MODEL_CATALOG.map((e) => e.name).join(', ')}), a path to a model descriptor .json, a .tflite SSD, an .onnx SSD with its sidecar .json, or a TF.js graph model in coco-ssd's layout (model.json, its folder or its URL)`,
  });
}

/**
 * Downloads a catalog model on first use (a no-op for bundled names, paths, and models already
 * cached and verified), so that the synchronous resolveDescriptorPath and readModelDescriptor find it.
 */
export async function ensureModel(model: string, download: PullOptions = {}): Promise<void> {
  const isName = /^[\w-]+$/.test(model);
  if (!isName || existsSync(path.join(MODELS_DIR, `${model}.json`))) return;
  const entry = findCatalogEntry(model);
  if (!entry) return;
  await pullModel(entry, download);
}

/** True for a resolved model file that is a TF.js graph model: an http(s) URL or a model.json. */
function isTfjsGraphSource(resolved: string): boolean {
  return isHttpUrl(resolved) || findTfjsModelJson(resolved) === resolved;
}

/** Names of the bundled model descriptors (models/*.json). */
export function listBundledModels(): string[] {
  try {
    return readdirSync(MODELS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  } catch {
    return [];
  }
}

/** Reads and checks a descriptor file. */
export function readDescriptor(descriptorPath: string): ModelDescriptor {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(descriptorPath, 'utf8'));
  } catch (cause) {
    throw new ModelError('E_MODEL', `cannot read model descriptor ${descriptorPath}: ${(cause as Error).message}`, {
      cause,
      hint: 'a model descriptor is a JSON file like models/face.json',
    });
  }
  return validateDescriptor(raw, descriptorPath);
}

/** Checks the fields every runtime relies on; throws a ModelError naming the first bad one. */
export function validateDescriptor(raw: unknown, where: string): ModelDescriptor {
  const d = raw as Partial<ModelDescriptor>;
  const fail = (field: string, expected: string): never => {
    throw new ModelError('E_MODEL', `model descriptor ${where}: ${field} must be ${expected}`, {
      hint: 'compare with models/face.json',
    });
  };
  // Checks use typeof before any comparison or `in`: a field of the wrong kind (a string for
  // network, an object for a width, an object without a prototype) must reach fail(), not throw
  // a TypeError from `in` or from converting the object to a primitive.
  if (!isObject(d)) fail('the file', 'a JSON object');
  if (typeof d.name !== 'string') fail('name', 'a string');
  if (!isObject(d.input) || !isPositive(d.input.width) || !isPositive(d.input.height)) fail('input.width/height', 'positive integers');
  if (d.input!.resize !== 'stretch' && d.input!.resize !== 'letterbox') fail('input.resize', '"stretch" or "letterbox"');
  if (!isObject(d.network) || !('backbone' in d.network) || !d.network.backbone || !Array.isArray(d.network.predictors)) fail('network', 'an object with backbone and predictors');
  if (!isObject(d.anchors) || !['tf-multiple-grid', 'caffe-prior-box', 'explicit'].includes(d.anchors.type)) fail('anchors.type', '"tf-multiple-grid", "caffe-prior-box" or "explicit"');
  if (!isObject(d.boxCoder) || (d.boxCoder.type !== 'tf' && d.boxCoder.type !== 'caffe')) fail('boxCoder.type', '"tf" or "caffe"');
  const numClasses = d.network!.numClasses;
  if (!Array.isArray(d.labels) || d.labels.length !== numClasses) {
    fail('labels', `an array of network.numClasses (${typeof numClasses === 'number' ? numClasses : 'missing'}) entries`);
  }
  if (!isObject(d.scores) || (d.scores.activation !== 'sigmoid' && d.scores.activation !== 'softmax')) fail('scores.activation', '"sigmoid" or "softmax"');
  if (!d.postprocess) fail('postprocess', 'an object with scoreThreshold, iouThreshold, maxDetections');
  return d as ModelDescriptor;
}

/** A non-null, non-array object (any prototype, or none). */
function isObject<T>(v: T | undefined): v is T & object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositive(v: unknown): v is number {
  return typeof v === 'number' && v > 0;
}

/**
 * The descriptor of a model argument (bundled name, descriptor .json or .tflite), without its
 * weights where that can be avoided (a .tflite is imported whole).
 */
export function readModelDescriptor(model: string, options: LoadModelOptions = {}): { descriptor: ModelDescriptor; descriptorPath: string } {
  const { path: descriptorPath, labels } = resolveModelFiles(model, options.download ?? {});
  if (isTflitePath(descriptorPath)) return { descriptor: readTfliteFile(descriptorPath, { labels: options.labels ?? labels }).descriptor, descriptorPath };
  if (isTfjsGraphSource(descriptorPath)) return { descriptor: readTfjsGraphModel(descriptorPath, { labels: options.labels ?? labels }).descriptor, descriptorPath };
  if (options.labels !== undefined) throw labelsNotForDescriptor(descriptorPath);
  if (isOnnxPath(descriptorPath)) return { descriptor: readOnnxModel(descriptorPath).descriptor, descriptorPath };
  return { descriptor: readDescriptor(descriptorPath), descriptorPath };
}

/**
 * Loads a model by bundled name, downloadable name (fetched into the cache on first use),
 * descriptor path or .tflite path: descriptor, weights, lowered graph.
 */
export async function loadModel(model: string = DEFAULT_MODEL, options: LoadModelOptions = {}): Promise<LoadedModel> {
  await ensureModel(model, options.download);
  const { path: descriptorPath, labels } = resolveModelFiles(model, options.download ?? {});
  if (isTflitePath(descriptorPath)) return loadTfliteModel(descriptorPath, { labels: options.labels ?? labels });
  if (isTfjsGraphSource(descriptorPath)) {
    throw new ModelError('E_MODEL', `model ${descriptorPath} is a TF.js graph model, which runs as given on the tfjs engine: it has no SSD graph to load or export`, {
      hint: 'run it with ssdpipe detect --model <model.json, its folder or URL>, or load it with loadEngineModel()',
    });
  }
  if (options.labels !== undefined) throw labelsNotForDescriptor(descriptorPath);
  if (isOnnxPath(descriptorPath)) {
    throw new ModelError('E_MODEL', `model ${descriptorPath} is an ONNX file, which runs as given on the onnx engine: it has no SSD graph to load or export`, {
      hint: 'run it with ssdpipe detect --model <file.onnx>, or load it with loadEngineModel()',
    });
  }
  const descriptor = readDescriptor(descriptorPath);
  const weights = await loadWeights(descriptor.weights, path.dirname(descriptorPath));
  const graph = buildSsdGraph(descriptor, weights);
  return { descriptor, descriptorPath, weights, graph };
}

/**
 * What an engine runs for a model argument: the lowered SSD graph, for an .onnx SSD the file
 * itself (run as given by the onnx engine, see onnx/onnx-model-file.ts), for a TF.js graph model
 * where its model.json is (run as given by the tfjs engine, see model/tfjs-graph-model.ts).
 */
export async function loadEngineModel(model: string = DEFAULT_MODEL, options: LoadModelOptions = {}): Promise<SsdGraph | OnnxModelFile | TfjsGraphModel> {
  if (isOnnxPath(model) && options.labels === undefined) return readOnnxModel(resolveDescriptorPath(model)).file;
  await ensureModel(model, options.download);
  const { path: resolved, labels } = resolveModelFiles(model, options.download ?? {});
  if (isTfjsGraphSource(resolved)) return readTfjsGraphModel(resolved, { labels: options.labels ?? labels }).model;
  return (await loadModel(model, options)).graph;
}

function labelsNotForDescriptor(descriptorPath: string): ModelError {
  return new ModelError('E_MODEL', `a label map was given for ${descriptorPath}, which is a model descriptor with its own labels`, {
    hint: 'use --labels with a .tflite model; a descriptor\'s labels are its "labels" field',
  });
}
