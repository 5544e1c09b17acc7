/** What an engine returns for one batch: raw head outputs, before anchors and NMS. */
export interface RawOutputs {
  readonly batch: number;
  /** [batch, numAnchors, 4] box encodings in the descriptor's box-coder order (coder 'none': decoded boxes [ymin, xmin, ymax, xmax]). */
  readonly boxEncodings: Float32Array;
  /** [batch, numAnchors, numClasses] class logits (before sigmoid/softmax; activation 'none': probabilities). */
  readonly classLogits: Float32Array;
  /** The run's input, handed back when run() had to take it over (a transfer to a worker), for reuse. */
  readonly input?: Float32Array;
}

/** Which runtime runs the graph. */
export type EngineKind = 'tfjs' | 'onnx';

/** A loaded, warmed-up model on one runtime. Every engine runs the same SsdGraph. */
export interface Engine {
  readonly kind: EngineKind;
  /** Runtime backend in use, e.g. 'wasm', 'tensorflow', 'cpu' (tfjs) or 'cpu', 'cuda' (onnx). */
  readonly backend: string;
  /** One line saying why this engine and backend were chosen. */
  readonly reason: string;
  /**
   * True when run() may be called again before earlier runs resolve: the engine queues the
   * batches and still runs them one at a time, in call order (a worker engine).
   */
  readonly queuesRuns?: boolean;
  /**
   * Runs a batch. input: [batch, inputHeight, inputWidth, 3] float32, already normalized, NHWC.
   * Batches run one at a time: callers await each run before the next, unless `queuesRuns`.
   */
  run(input: Float32Array, batch: number): Promise<RawOutputs>;
  /** Frees runtime memory; the engine is unusable afterwards. */
  dispose(): Promise<void>;
}

/** Options every engine accepts. */
export interface EngineOptions {
  /** Intra-op threads (onnx); default: all cores. */
  threads?: number;
  /** tfjs backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu' (tensorflow = tfjs-node or tfjs-node-gpu). */
  backend?: string;
  /** Batch size used for the warm-up run at load. */
  warmupBatch?: number;
}
