import { AbortedError, EngineError, FfmpegError, InputError, ModelError, OptionError, OutputError, SsdpipeError } from '../errors.js';
import type { EngineKind } from './engine.js';
import type { EnginePick } from './select-engine.js';

/** Messages the main thread sends to an engine worker. */
export type WorkerRequest =
  /** pick: the engine decided on the main thread (else the worker decides from options). */
  | { type: 'init'; id: number; model: string; options: Record<string, unknown>; pick?: EnginePick }
  /** input: [batch, H, W, 3] normalized NHWC; its buffer is transferred. */
  | { type: 'run'; id: number; input: Float32Array; batch: number }
  | { type: 'dispose'; id: number };

/** Messages an engine worker sends back. */
export type WorkerReply =
  | { type: 'ready'; id: number; kind: EngineKind; backend: string; reason: string }
  /** input: the run's input, transferred back for reuse. */
  | { type: 'result'; id: number; batch: number; boxEncodings: Float32Array; classLogits: Float32Array; input: Float32Array }
  | { type: 'disposed'; id: number }
  | { type: 'error'; id: number; error: SerializedError };

/** An error as it crosses the worker boundary: class name, code, hint and the cause chain. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  hint?: string;
  stack?: string;
  cause?: SerializedError;
}

/** Flattens an error (and its causes, up to a depth) into plain data for postMessage. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { code?: unknown; hint?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
    ...(e.cause !== undefined && depth < 8 ? { cause: serializeError(e.cause, depth + 1) } : {}),
  };
}

const ERROR_CLASSES: Record<string, new (...args: never[]) => Error> = {
  SsdpipeError, OptionError, InputError, ModelError, EngineError, FfmpegError, OutputError, AbortedError,
};

/** Built-in classes a plain cause may have (an ENOENT is an Error, a bad offset a RangeError). */
const BUILTIN_CLASSES: Record<string, new (message?: string) => Error> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

/**
 * Rebuilds an error sent by serializeError as an instance of its own class (so `instanceof` and
 * the exit code still work on this side), with its code, hint, stack and causes. A top-level
 * error that is not an ssdpipe error comes back inside an EngineError (the worker failed in a
 * way ssdpipe did not describe); causes keep their own class, so the chain reads as it was thrown.
 */
export function reviveError(s: SerializedError): Error {
  const e = reviveChain(s);
  return e instanceof SsdpipeError ? e : new EngineError(`engine worker failed: ${s.message}`, { cause: e, hint: 'run ssdpipe doctor to check the engine' });
}

/** One error and its causes, each as its own class (built-in or ssdpipe; otherwise an Error named as sent). */
function reviveChain(s: SerializedError): Error {
  const cls = ERROR_CLASSES[s.name];
  const e: Error = cls ? (Object.create(cls.prototype) as Error) : new (BUILTIN_CLASSES[s.name] ?? Error)(s.message);
  Object.defineProperties(e, {
    name: { value: s.name, writable: true, configurable: true },
    message: { value: s.message, writable: true, configurable: true },
    stack: { value: s.stack ?? `${s.name}: ${s.message}`, writable: true, configurable: true },
  });
  if (cls) Object.assign(e, { code: s.code, hint: s.hint, ...(s.name === 'FfmpegError' ? { stderrTail: '' } : {}) });
  if (s.cause) Object.defineProperty(e, 'cause', { value: reviveChain(s.cause), writable: true, configurable: true });
  return e;
}
