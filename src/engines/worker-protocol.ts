import type { EngineKind } from './engine.js';

/** Messages the main thread sends to an engine worker. */
export type WorkerRequest =
  | { type: 'init'; id: number; model: string; options: Record<string, unknown> }
  /** input: [batch, H, W, 3] normalized NHWC; its buffer is transferred. */
  | { type: 'run'; id: number; input: Float32Array; batch: number }
  | { type: 'dispose'; id: number };

/** Messages an engine worker sends back. */
export type WorkerReply =
  | { type: 'ready'; id: number; kind: EngineKind; backend: string; reason: string }
  | { type: 'result'; id: number; batch: number; boxEncodings: Float32Array; classLogits: Float32Array }
  | { type: 'disposed'; id: number }
  | { type: 'error'; id: number; error: { code: string; message: string; hint?: string } };
