import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OptionError, SsdpipeError } from '../errors.js';
import type { DetectOptions } from './options.js';
import type { RunOptions } from './run.js';

/**
 * A pipeline file (pipelines/*.json): an input, the model and detection options, and outputs.
 * Relative paths are resolved against the pipeline file's folder.
 */
export type PipelineSpec = Pick<
  DetectOptions,
  'model' | 'engine' | 'backend' | 'threads' | 'score' | 'iou' | 'maxDetections' | 'classAgnostic' | 'softNms' | 'batch' | 'maxWaitMs'
> & {
  input: string;
  outputs?: { jsonl?: string; video?: string; stats?: string };
};

const KEYS = new Set(['$comment', 'input', 'model', 'engine', 'backend', 'threads', 'score', 'iou', 'maxDetections', 'classAgnostic', 'softNms', 'batch', 'maxWaitMs', 'outputs']);
const OUTPUT_KEYS = new Set(['jsonl', 'video', 'stats']);

/** Reads and validates a pipeline file into run() arguments. */
export function loadPipelineSpec(file: string): { input: string; options: RunOptions } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new SsdpipeError('E_BAD_OPTION', `cannot read pipeline file ${file}: ${(cause as Error).message}`, {
      cause,
      hint: 'a pipeline file is JSON like pipelines/people.json',
    });
  }
  return parsePipelineSpec(raw, path.dirname(path.resolve(file)), file);
}

/** Validates a parsed pipeline object; `baseDir` resolves its relative paths. */
export function parsePipelineSpec(raw: unknown, baseDir: string, where = 'pipeline'): { input: string; options: RunOptions } {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new OptionError(where, 'a JSON object', raw);
  const spec = raw as Record<string, unknown>;
  for (const k of Object.keys(spec)) if (!KEYS.has(k)) throw new OptionError(`${where}: key ${k}`, `one of ${[...KEYS].join(', ')}`, k);
  if (typeof spec.input !== 'string' || !spec.input) throw new OptionError(`${where}: input`, 'a file path', spec.input);
  const outputs = (spec.outputs ?? {}) as Record<string, unknown>;
  if (typeof outputs !== 'object' || Array.isArray(outputs)) throw new OptionError(`${where}: outputs`, 'an object with jsonl, video, stats', outputs);
  for (const [k, v] of Object.entries(outputs)) {
    if (!OUTPUT_KEYS.has(k)) throw new OptionError(`${where}: outputs.${k}`, 'jsonl, video or stats', k);
    if (typeof v !== 'string' || !v) throw new OptionError(`${where}: outputs.${k}`, 'a file path', v);
  }
  const rel = (p: string | undefined): string | undefined => (p === undefined || p === '-' ? p : path.resolve(baseDir, p));
  const s = spec as unknown as PipelineSpec;
  const model = s.model && (s.model.endsWith('.json') ? rel(s.model) : s.model);
  return {
    input: rel(s.input)!,
    options: {
      model, engine: s.engine, backend: s.backend, threads: s.threads, score: s.score, iou: s.iou,
      maxDetections: s.maxDetections, classAgnostic: s.classAgnostic, softNms: s.softNms, batch: s.batch, maxWaitMs: s.maxWaitMs,
      jsonl: rel(s.outputs?.jsonl), video: rel(s.outputs?.video), stats: rel(s.outputs?.stats),
    },
  };
}
