import { parentPort } from 'node:worker_threads';
import { ownsWholeBuffer } from '../buffer-pool.js';
import { EngineError } from '../errors.js';
import { loadEngineModel } from '../model-io/load-model.js';
import type { Engine } from './engine.js';
import { createEngine, type SelectEngineOptions } from './select-engine.js';
import { serializeError, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

// Runs an engine inside a worker thread, so that a runtime whose run() is synchronous
// (onnxruntime-node runs inference on the calling thread) does not block the main event loop,
// where ffmpeg's pipes are read, frames preprocessed and outputs written.

if (!parentPort) throw new EngineError('engine-worker.ts must run in a worker thread', { hint: 'start it with createWorkerEngine()' });
const port = parentPort;

let engine: Engine | null = null;

/** The buffers of arrays that own all of theirs (a view into a shared buffer is copied instead). */
function transferable(arrays: Float32Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const a of arrays) {
    if (ownsWholeBuffer(a)) buffers.add(a.buffer as ArrayBuffer);
  }
  return [...buffers];
}

function errorReply(id: number, err: unknown): WorkerReply {
  return { type: 'error', id, error: serializeError(err) };
}

// Messages are handled one after another, in arrival order: a run posted while another runs
// waits for it, and dispose waits for every run posted before it.
let queue: Promise<void> = Promise.resolve();

port.on('message', (msg: WorkerRequest) => {
  queue = queue.then(() => handle(msg)).catch(() => undefined); // each handler replies with its own error
});

async function handle(msg: WorkerRequest): Promise<void> {
  if (msg.type === 'init') {
    try {
      engine = await createEngine(await loadEngineModel(msg.model), msg.options as SelectEngineOptions, msg.pick);
      port.postMessage({ type: 'ready', id: msg.id, kind: engine.kind, backend: engine.backend, reason: engine.reason } satisfies WorkerReply);
    } catch (err) {
      port.postMessage(errorReply(msg.id, err));
    }
  } else if (msg.type === 'run') {
    try {
      if (!engine) throw new EngineError('engine worker: run before init', { hint: 'this looks like a bug in ssdpipe; please report it' });
      const out = await engine.run(msg.input, msg.batch);
      const reply = { type: 'result', id: msg.id, batch: out.batch, boxEncodings: out.boxEncodings, classLogits: out.classLogits, input: msg.input } satisfies WorkerReply;
      // Moved, not copied: the outputs are this run's own, and the input goes back for reuse.
      port.postMessage(reply, transferable([out.boxEncodings, out.classLogits, msg.input]));
    } catch (err) {
      port.postMessage(errorReply(msg.id, err));
    }
  } else if (msg.type === 'dispose') {
    try {
      await engine?.dispose();
    } finally {
      engine = null;
      port.postMessage({ type: 'disposed', id: msg.id } satisfies WorkerReply);
      port.close();
    }
  }
}
