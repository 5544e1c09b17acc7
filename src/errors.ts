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

/** ffmpeg or ffprobe failed; the message carries the tail of its stderr. */
export class FfmpegError extends SsdpipeError {
  readonly stderrTail: string;
  constructor(message: string, stderrTail = '', options: SsdpipeErrorOptions = {}) {
    super('E_FFMPEG', stderrTail ? `${message}: ${lastLine(stderrTail)}` : message, options);
    this.stderrTail = stderrTail;
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

/** Exit code of a usage error (a bad option or pipeline file). */
export const EXIT_USAGE = 2;
/** Exit code of any other failure. */
export const EXIT_RUNTIME = 1;
/** Exit code after Ctrl-C / SIGTERM stopped a run (its outputs are finalized). */
export const EXIT_INTERRUPTED = 130;

/** The process exit code for an error: the one mapping every command uses. */
export function exitCodeFor(err: SsdpipeError): number {
  if (err.code === 'E_BAD_OPTION') return EXIT_USAGE;
  if (err.code === 'E_ABORTED') return EXIT_INTERRUPTED;
  return EXIT_RUNTIME;
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
