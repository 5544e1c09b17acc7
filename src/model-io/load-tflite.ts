import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ModelError } from '../errors.js';
import type { LoadedModel } from './load-model.js';
import { importTflite, type ImportedTflite } from '../model/tflite/import-tflite.js';

// File reading for .tflite models; the parsing and lowering are in tflite/ and take bytes.

/** Options of loading a .tflite model. */
export interface TfliteFileOptions {
  /** Path of a label map (labelmap.txt: one label per line, '???' for unused ids). */
  labels?: string;
}

/** Whether a model argument names a .tflite file (by extension). */
export function isTflitePath(model: string): boolean {
  return /\.tflite$/i.test(model);
}

/** Reads and imports a .tflite SSD (and its label map): descriptor, graph and import details. */
export function readTfliteFile(modelPath: string, options: TfliteFileOptions = {}): ImportedTflite {
  const file = path.resolve(modelPath);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new ModelError('E_MODEL', `cannot read TFLite model ${file}: ${(cause as Error).message}`, { cause, hint: 'check the --model path' });
  }
  let labelMap: string | undefined;
  if (options.labels !== undefined) {
    try {
      labelMap = readFileSync(path.resolve(options.labels), 'utf8');
    } catch (cause) {
      throw new ModelError('E_MODEL', `cannot read label map ${path.resolve(options.labels)}: ${(cause as Error).message}`, {
        cause,
        hint: 'pass a text file with one label per line (labelmap.txt)',
      });
    }
  }
  return importTflite(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { source: file, labelMap });
}

/** Loads a .tflite SSD as a LoadedModel (its weights are in the graph; the weight map is empty). */
export function loadTfliteModel(modelPath: string, options: TfliteFileOptions = {}): LoadedModel {
  const { descriptor, graph } = readTfliteFile(modelPath, options);
  return { descriptor, descriptorPath: descriptor.weights.format === 'tflite' ? descriptor.weights.path : modelPath, weights: new Map(), graph };
}
