import { parentPort } from 'node:worker_threads';
import { SsdpipeError } from '../errors.js';
import { loadModel } from '../model/load-model.js';
import type { Engine } from './engine.js';
import { createEngine, type SelectEngineOptions } from './select-engine.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

// Runs an engine inside a worker thread, so that a runtime whose run() is synchronous
// (onnxruntime-node runs inference on the calling thread) does not block the main event loop,
// where ffmpeg's pipes are read, frames preprocessed and outputs written.

const port = parentPort;
if (!port) throw new Error('engine-worker.ts must run in a worker thread');

let engine: Engine | null = null;

function errorReply(id: number, err: unknown): WorkerReply {
  const e = err as Partial<SsdpipeError> & Error;
  return { type: 'error', id, error: { code: e.code ?? 'E_ENGINE', message: e.message ?? String(err), hint: e.hint } };
}

port.on('message', (msg: WorkerRequest) => {
  void (async () => {
    if (msg.type === 'init') {
      try {
        const model = await loadModel(msg.model);
        engine = await createEngine(model.graph, msg.options as SelectEngineOptions, msg.pick);
        port.postMessage({ type: 'ready', id: msg.id, kind: engine.kind, backend: engine.backend, reason: engine.reason } satisfies WorkerReply);
      } catch (err) {
        port.postMessage(errorReply(msg.id, err));
      }
    } else if (msg.type === 'run') {
      try {
        if (!engine) throw new Error('engine worker: run before init');
        const out = await engine.run(msg.input, msg.batch);
        port.postMessage({ type: 'result', id: msg.id, batch: out.batch, boxEncodings: out.boxEncodings, classLogits: out.classLogits } satisfies WorkerReply);
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
  })();
});
