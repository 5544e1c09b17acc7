import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ownsWholeBuffer } from '../buffer-pool.js';
import { EngineError } from '../errors.js';
import type { Engine, RawOutputs } from './engine.js';
import type { EnginePick, SelectEngineOptions } from './select-engine.js';
import { reviveError, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

/**
 * Starts the worker script next to this module: engine-worker.js when built; under tsx (tests run
 * the TypeScript sources) a small bootstrap registers tsx in the worker, then imports the .ts file.
 */
function startWorker(): Worker {
  const js = new URL('./engine-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL('./engine-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * Runs the engine `createEngine` would pick in a worker thread; `run` posts the batch there and
 * resolves with the outputs, leaving the main thread free while the model runs. Batches run one
 * at a time in the worker; a run posted before the previous one finished waits there, in order.
 */
export async function createWorkerEngine(model: string, options: SelectEngineOptions = {}, pick?: EnginePick): Promise<Engine> {
  const worker = startWorker();
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  let dead: Error | null = null;

  const failAll = (err: Error): void => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.type === 'error') {
      p.reject(reviveError(reply.error));
    } else p.resolve(reply);
  });
  worker.on('error', (err) => failAll(new EngineError(`engine worker crashed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => {
    if (!dead) failAll(new EngineError(`engine worker exited (code ${code})`));
  });

  const call = (msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      if (dead) return reject(dead);
      pending.set(msg.id, { resolve, reject });
      worker.postMessage(msg, transfer);
    });

  let ready: WorkerReply;
  try {
    ready = await call({ type: 'init', id: nextId++, model, options: { ...options }, pick });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  if (ready.type !== 'ready') throw new EngineError('engine worker did not start');
  let disposed: Promise<void> | null = null;

  return {
    kind: ready.kind,
    backend: ready.backend,
    reason: `${ready.reason}; in a worker thread`,
    // The worker takes one message at a time, so runs posted early wait their turn, in order.
    queuesRuns: true,
    async run(input: Float32Array, batch: number): Promise<RawOutputs> {
      // The input buffer moves to the worker (no copy) and comes back with the result.
      const transfer = ownsWholeBuffer(input) ? [input.buffer as ArrayBuffer] : [];
      const r = await call({ type: 'run', id: nextId++, input, batch }, transfer);
      if (r.type !== 'result') throw new EngineError(`engine worker answered ${r.type} to run`);
      return { batch: r.batch, boxEncodings: r.boxEncodings, classLogits: r.classLogits, input: r.input };
    },
    dispose(): Promise<void> {
      disposed ??= (async () => {
        try {
          if (!dead) await call({ type: 'dispose', id: nextId++ });
        } catch {
          // the worker is going away either way
        } finally {
          await worker.terminate();
        }
      })();
      return disposed;
    },
  };
}
