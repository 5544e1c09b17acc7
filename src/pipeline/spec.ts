import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineFileSchema, type PipelineFile } from '../config/schema.js';
import { parseOptions } from '../config/validate.js';
import { OptionError, SsdpipeError } from '../errors.js';
import type { RunOptions } from './options.js';

/** What a pipeline file asks for: an input and run() options, paths resolved against the file. */
export interface PipelineRun {
  input: string;
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
  if (sources && sources.length > 1) {
    throw new OptionError(`sources in ${file}`, 'one source (several sources in one run are not supported yet)', `${sources.length} sources`);
  }
  const source = sources?.[0];
  const out = { ...outputs, ...source?.outputs };
  return {
    input: rel(source?.input ?? input)!,
    options: {
      ...options,
      model: /\.(json|tflite|onnx)$/i.test(options.model) ? rel(options.model) : options.model,
      jsonl: rel(out.jsonl),
      video: rel(out.video),
      stats: rel(out.stats),
    },
  };
}
