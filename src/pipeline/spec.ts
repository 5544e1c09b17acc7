import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineFileSchema, type PipelineFile } from '../config/schema.js';
import { parseOptions } from '../config/validate.js';
import { SsdpipeError } from '../errors.js';
import { classifyInput } from '../sources/live-input.js';
import type { SourceInput } from './sources.js';
import type { RunOptions } from './options.js';

/** What a pipeline file asks for: its sources and run() options, paths resolved against the file. */
export interface PipelineRun {
  inputs: SourceInput[];
  options: RunOptions;
}

/** Reads and validates a pipeline file (pipelines/*.json) into run() arguments. */
export function loadPipelineSpec(file: string): PipelineRun {
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

/**
 * Validates a parsed pipeline object against the option schema (errors name the field and the
 * file); `baseDir` resolves its relative paths. A bundled model name stays a name.
 */
export function parsePipelineSpec(raw: unknown, baseDir: string, file = 'pipeline'): PipelineRun {
  const spec: PipelineFile = parseOptions(pipelineFileSchema, raw, { file });
  const rel = (p: string | undefined): string | undefined => (p === undefined || p === '-' ? p : path.resolve(baseDir, p));
  const { $comment: _comment, input, sources, outputs, ...options } = spec;
  // A URL or device stays as written; a file path is relative to the pipeline file.
  const inputPath = (p: string): string => (classifyInput(p).kind === 'file' ? rel(p)! : p);
  const inputs: SourceInput[] = sources
    ? sources.map((s) => ({
        ...(s.name !== undefined ? { name: s.name } : {}),
        input: inputPath(s.input),
        ...(s.outputs ? { outputs: { jsonl: rel(s.outputs.jsonl), video: rel(s.outputs.video) } } : {}),
      }))
    : [inputPath(input!)];
  return {
    inputs,
    options: {
      ...options,
      model: /\.(json|tflite|onnx)$/i.test(options.model) ? rel(options.model) : options.model,
      jsonl: rel(outputs?.jsonl),
      video: rel(outputs?.video),
      stats: rel(outputs?.stats),
      audio: outputs?.audio,
    },
  };
}
