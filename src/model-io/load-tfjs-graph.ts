import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { COCO_SSD_GRAPH_LAYOUT, cocoSsdGraphModel, type TfjsGraphModel } from '../model/tfjs-graph-model.js';
import { columnLabels, parseLabelMap } from '../model/tflite/labels.js';

/** COCO's label map as coco-ssd's classes.ts gives it: line i is COCO id i + 1, '???' for unused ids. */
export const COCO_SSD_LABELS_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'labels', 'coco-ssd.txt');

/** True for an http(s) URL (a model.json served by a web server). */
export function isHttpUrl(model: string): boolean {
  return /^https?:\/\//i.test(model);
}

/**
 * The model.json a path names, when it is a TF.js graph model: the file itself (a .json holding
 * modelTopology), or model.json inside a folder. Undefined for anything else.
 */
export function findTfjsModelJson(p: string): string | undefined {
  let file = p;
  try {
    if (statSync(p).isDirectory()) file = path.join(p, 'model.json');
    if (!file.toLowerCase().endsWith('.json') || !existsSync(file)) return undefined;
    // A descriptor .json has no modelTopology; a model.json always has it (graph or layers model).
    const head = readFileSync(file, 'utf8');
    return /"modelTopology"\s*:/.test(head) ? file : undefined;
  } catch {
    return undefined;
  }
}

/** Options of reading a TF.js graph model: a label map in place of COCO's, and the model's name. */
export interface TfjsGraphOptions {
  /** A label map file (one label per line, line i = score column i). */
  labels?: string;
  /** Name to report; default the folder holding model.json. */
  name?: string;
}

/**
 * The descriptor of a TF.js graph model in coco-ssd's layout at `source` (a model.json path or
 * an http(s) URL) and what the tfjs engine needs to run it. Nothing is fetched: the engine loads
 * the graph, and checks there that its inputs and outputs are coco-ssd's.
 */
export function readTfjsGraphModel(source: string, options: TfjsGraphOptions = {}): { descriptor: ModelDescriptor; model: TfjsGraphModel } {
  if (!isHttpUrl(source)) checkGraphModelJson(source);
  const name = options.name ?? defaultName(source);
  const labelsPath = options.labels === undefined ? COCO_SSD_LABELS_PATH : path.resolve(options.labels);
  let text: string;
  try {
    text = readFileSync(labelsPath, 'utf8');
  } catch (cause) {
    throw new ModelError('E_MODEL', `cannot read label map ${labelsPath}: ${(cause as Error).message}`, {
      cause,
      hint: options.labels === undefined ? 'reinstall ssdpipe (models/labels/coco-ssd.txt is part of it)' : 'check the path given to --labels',
    });
  }
  const C = COCO_SSD_GRAPH_LAYOUT.numClasses;
  // Column c is COCO id c + 1: no background column, so line 0 of the map is column 0.
  return cocoSsdGraphModel(source, name, columnLabels(parseLabelMap(text, C), C, 0));
}

/** A local model.json must be a graph model (a layers model has no image_tensor graph). */
function checkGraphModelJson(file: string): void {
  let json: { format?: unknown; modelTopology?: { node?: unknown } };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError('E_MODEL', missing ? `TF.js model ${file} not found` : `cannot read TF.js model ${file}: ${(cause as Error).message}`, {
      cause,
      hint: 'give --model a model.json, the folder holding it, or its http(s) URL',
    });
  }
  const isGraph = json?.format === 'graph-model' || Array.isArray(json?.modelTopology?.node);
  if (!isGraph) {
    throw new ModelError('E_MODEL', `TF.js model ${file} is a ${typeof json?.format === 'string' ? json.format : 'layers model'}, not a graph model`, {
      hint: `ssdpipe runs TF.js graph models in @tensorflow-models/coco-ssd's layout (input ${COCO_SSD_GRAPH_LAYOUT.inputName}; outputs ${COCO_SSD_GRAPH_LAYOUT.outputNames.scores} and ${COCO_SSD_GRAPH_LAYOUT.outputNames.boxes})`,
    });
  }
}

/** The folder holding model.json (a catalog model's cache folder is its name), else 'model'. */
function defaultName(source: string): string {
  const p = isHttpUrl(source) ? new URL(source).pathname : source;
  const parts = p.split(/[\\/]+/).filter(Boolean);
  return parts.length >= 2 ? decodeURIComponent(parts[parts.length - 2]) : 'model';
}
