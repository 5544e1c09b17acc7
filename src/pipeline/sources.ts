import path from 'node:path';
import { OptionError } from '../errors.js';
import { classifyInput, type InputKind } from '../sources/live-input.js';
import type { MediaInfo } from '../sources/probe.js';
import { STDIN_SOURCE_ID, type ProbedStdin } from '../sources/stdin-source.js';

/** Output paths of one source (a pipeline file's per-source `outputs`). */
export interface SourceOutputs {
  jsonl?: string;
  video?: string;
}

/** An input as the API takes it: a path or URL, or one with a name and its own outputs. */
export type SourceInput = string | { name?: string; input: string; outputs?: SourceOutputs };

/** One source of a session. */
export interface SessionSource {
  /** The `source` of its records: its name, else a file's base name or a URL without credentials. */
  readonly id: string;
  /** What ffmpeg opens (credentials included: never shown). */
  readonly input: string;
  readonly kind: InputKind;
  /** Read through reconnecting, freshest-frame scheduling (cameras, streams, devices). */
  readonly live: boolean;
  readonly outputs?: SourceOutputs;
  /** Files and standard input: the probe. */
  readonly info?: MediaInfo;
  /** Standard input only: its head, read to probe it, and the rest, for the decoder. */
  readonly stdin?: ProbedStdin;
}

/**
 * Classifies the inputs and gives each an id that is unique in the run and free of credentials.
 * Files are read to the end with flow control; every other kind (RTSP, HTTP, HLS, MJPEG, v4l2)
 * through the live source, which reconnects. Standard input ('-', at most once: it is one stream)
 * is read to its end like a file; its id is 'stdin'.
 */
export function resolveSources(inputs: SourceInput | readonly SourceInput[]): SessionSource[] {
  const list = (Array.isArray(inputs) ? inputs : [inputs]) as readonly SourceInput[];
  if (list.length === 0) throw new OptionError('input', 'at least one input', 'none');
  const ids = new Set<string>();
  let stdinSeen = false;
  return list.map((item, i) => {
    const { name, input, outputs } = typeof item === 'string' ? { name: undefined, input: item, outputs: undefined } : item;
    const spec = classifyInput(input);
    if (spec.kind === 'stdin') {
      if (stdinSeen) throw new OptionError('input', 'standard input (-) at most once', 'two -', 'standard input is one stream; save the others to files');
      stdinSeen = true;
    }
    const base = name ?? (spec.kind === 'file' ? path.basename(input) : spec.kind === 'stdin' ? STDIN_SOURCE_ID : spec.display);
    let id = base;
    for (let n = 2; ids.has(id); n++) id = `${base}#${n}`;
    if (name !== undefined && id !== name) {
      throw new OptionError(`sources[${i}].name`, 'a name no other source has', name);
    }
    ids.add(id);
    return { id, input, kind: spec.kind, live: spec.kind !== 'file' && spec.kind !== 'stdin', ...(outputs ? { outputs } : {}) };
  });
}
