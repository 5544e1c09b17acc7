/** Stable error codes; the CLI maps every SsdpipeError to a one-line message and exit code. */
export type ErrorCode =
  | 'E_INPUT_NOT_FOUND'
  | 'E_INPUT_UNREADABLE'
  | 'E_NO_FRAMES'
  | 'E_BAD_OPTION'
  | 'E_MODEL'
  | 'E_WEIGHTS'
  | 'E_ENGINE'
  | 'E_FFMPEG'
  | 'E_FFMPEG_NOT_FOUND'
  | 'E_OUTPUT'
  | 'E_ABORTED'
  | 'E_INTERNAL';

/** Options shared by every ssdpipe error. */
export interface SsdpipeErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** Base error: a stable code, a message saying what failed, a hint saying what to do. */
export class SsdpipeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: SsdpipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** A user-supplied option has a value outside what the stage accepts. */
export class OptionError extends SsdpipeError {
  constructor(option: string, expected: string, received: unknown, hint?: string) {
    super('E_BAD_OPTION', `option ${option}: expected ${expected}, received ${formatValue(received)}`, { hint });
  }

  /** An option or pipeline-file key that does not exist. */
  static unknown(option: string, known: readonly string[]): OptionError {
    const e = new OptionError(option, '', undefined);
    Object.defineProperty(e, 'message', { value: `unknown option ${option}; expected one of ${known.join(', ')}` });
    return e;
  }
}

/** The input file or stream is missing, unreadable or has no frames. */
export class InputError extends SsdpipeError {}

/** A model descriptor, label map or weight file is missing or inconsistent. */
export class ModelError extends SsdpipeError {}

/** An inference runtime failed to load or to run. */
export class EngineError extends SsdpipeError {
  constructor(message: string, options: SsdpipeErrorOptions = {}) {
    super('E_ENGINE', message, options);
  }
}

/** What an ffmpeg process was doing: it decides the exit code of its failure (decoding: 4). */
export type FfmpegStage = 'probing' | 'decoding' | 'encoding';

/** Options of an FfmpegError. */
export interface FfmpegErrorOptions extends SsdpipeErrorOptions {
  /** What the process was doing when it failed, if the caller said (see spawnFfmpeg's `during`). */
  during?: FfmpegStage;
}

/** ffmpeg or ffprobe failed; the message carries the tail of its stderr. */
export class FfmpegError extends SsdpipeError {
  readonly stderrTail: string;
  readonly during: FfmpegStage | undefined;
  constructor(message: string, stderrTail = '', options: FfmpegErrorOptions = {}) {
    super('E_FFMPEG', stderrTail ? `${message}: ${lastLine(stderrTail)}` : message, options);
    this.stderrTail = stderrTail;
    this.during = options.during;
  }
}

/** An output file could not be written. */
export class OutputError extends SsdpipeError {
  constructor(message: string, options: SsdpipeErrorOptions = {}) {
    super('E_OUTPUT', message, options);
  }
}

/** The run was cancelled through its AbortSignal. */
export class AbortedError extends SsdpipeError {
  constructor(reason = 'the run was aborted') {
    super('E_ABORTED', reason);
  }
}

/** Exit code of anything not listed below (an internal error, ffmpeg missing, an encoder crash). */
export const EXIT_RUNTIME = 1;
/** Exit code of a usage error: a bad option or pipeline file (E_BAD_OPTION). */
export const EXIT_USAGE = 2;
/** Exit code when the input is missing or unreadable (E_INPUT_NOT_FOUND, E_INPUT_UNREADABLE). */
export const EXIT_INPUT = 3;
/** Exit code when decoding failed (E_NO_FRAMES, or E_FFMPEG while decoding). */
export const EXIT_DECODE = 4;
/** Exit code when the model or its weights are missing or invalid (E_MODEL, E_WEIGHTS). */
export const EXIT_MODEL = 5;
/** Exit code when an output cannot be written (E_OUTPUT: unwritable path, full disk). */
export const EXIT_OUTPUT = 6;
/** Exit code when the inference engine failed to load or to run (E_ENGINE). */
export const EXIT_ENGINE = 7;
/** Exit code after SIGINT (Ctrl-C) stopped a run (its outputs are finalized): 128 + 2. */
export const EXIT_INTERRUPTED = 130;
/** Exit code after SIGTERM stopped a run (its outputs are finalized): 128 + 15. */
export const EXIT_TERMINATED = 143;

const EXIT_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> = {
  E_BAD_OPTION: EXIT_USAGE,
  E_INPUT_NOT_FOUND: EXIT_INPUT,
  E_INPUT_UNREADABLE: EXIT_INPUT,
  E_NO_FRAMES: EXIT_DECODE,
  E_MODEL: EXIT_MODEL,
  E_WEIGHTS: EXIT_MODEL,
  E_OUTPUT: EXIT_OUTPUT,
  E_ENGINE: EXIT_ENGINE,
};

/** The exit code for a stop by a signal: 130 for SIGINT, 143 for SIGTERM (the shell's 128 + n). */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
}

/**
 * The process exit code for an error: the one mapping every command uses (README, Exit codes).
 * `signal` is the signal that stopped the run, if any: an abort it caused exits 130 or 143.
 */
export function exitCodeFor(err: SsdpipeError, signal?: NodeJS.Signals): number {
  if (err.code === 'E_ABORTED') return exitCodeForSignal(signal ?? 'SIGINT');
  if (err.code === 'E_FFMPEG') return err instanceof FfmpegError && err.during === 'decoding' ? EXIT_DECODE : EXIT_RUNTIME;
  return EXIT_BY_CODE[err.code] ?? EXIT_RUNTIME;
}

/**
 * The error, its stack and every cause below it, one after another (ffmpeg's stderr tail
 * included): what `--debug` prints. Pure; the CLI prints it.
 */
export function formatCauseChain(err: unknown, maxDepth = 10): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < maxDepth && !seen.has(e); depth++) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    parts.push(depth === 0 ? text : `caused by: ${text}`);
    if (e instanceof SsdpipeError && e.hint) parts.push(`  hint: ${e.hint}`);
    if (e instanceof FfmpegError && e.stderrTail.trim()) {
      parts.push(`  ffmpeg stderr (tail):\n${e.stderrTail.trimEnd().split(/\r?\n/).map((l) => `    ${l}`).join('\n')}`);
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\n');
}

/** Wraps anything thrown into an SsdpipeError, keeping the original as cause. */
export function toSsdpipeError(err: unknown): SsdpipeError {
  if (err instanceof SsdpipeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SsdpipeError('E_INTERNAL', message, { cause: err, hint: 'this looks like a bug in ssdpipe; please report it with the command you ran' });
}

/** The last non-empty line of a multi-line text (ffmpeg's most telling line is usually last). */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
