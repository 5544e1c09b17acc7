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
  | { type: 'error'; id: number; error: { code: string; message: string; hint?: string } };
