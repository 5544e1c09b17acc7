import type { Engine } from '../src/engines/engine.js';
import { createEngine } from '../src/engines/select-engine.js';
import { loadModel, type LoadedModel } from '../src/model-io/load-model.js';
import { benchRow, type BenchResult, type BenchRow } from './result.js';
import { round } from './stats.js';

// Model time per frame of each engine (engine.run only), so ONNX Runtime and TF.js are compared
// on the same graph without preprocessing, decoding or I/O in the numbers.

/** Batch sizes of the per-engine timings unless the caller gives others. */
export const ENGINE_BATCHES: readonly number[] = [1, 4, 8];

// How long each batch size is measured, per engine; the loop always makes at least one timed run,
// so a slow engine still gets a row.
const MIN_MS = { onnx: 2000, tfjs: 1500 } as const;

/** Rows of model time per frame for one engine, one per batch size. */
async function engineTimes(engine: Engine, inputSize: number, batches: readonly number[], minMs: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const b of batches) {
    const input = new Float32Array(b * inputSize).fill(0.1); // [b, height, width, 3] normalized pixels
    // A fresh copy per run: a worker engine transfers the buffer it is given to its thread.
    await engine.run(input.slice(), b); // warm this batch shape
    let n = 0;
    const t0 = performance.now();
    do {
      await engine.run(input.slice(), b);
      n += b;
    } while (performance.now() - t0 < minMs);
    const ms = performance.now() - t0;
    rows.push({ ...benchRow(`model only, ${engine.kind}/${engine.backend}, batch ${b}`, n, ms), note: `${round(ms / n, 2)} ms/frame` });
  }
  return rows;
}

/** Per-frame model time for both engines at the same batch sizes, in one run (ONNX Runtime on the main thread, TF.js on its best backend here). */
export async function benchEngines(model: LoadedModel, batches: readonly number[] = ENGINE_BATCHES, threads?: number, log: (l: string) => void = () => {}): Promise<BenchRow[]> {
  const size = model.descriptor.input.width * model.descriptor.input.height * 3;
  const rows: BenchRow[] = [];
  for (const kind of ['onnx', 'tfjs'] as const) {
    log(`model time per frame, ${kind}`);
    const engine = await createEngine(model.graph, { engine: kind, threads });
    try {
      rows.push(...(await engineTimes(engine, size, batches, MIN_MS[kind])));
    } finally {
      await engine.dispose();
    }
  }
  return rows;
}

/** onnx vs tfjs speed-up per batch size, from the 'model only' rows (keys onnx_vs_tfjs_batch<N>). */
export function engineRatios(rows: readonly BenchRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const m = /^model only, onnx\/\w+, batch (\d+)$/.exec(r.name);
    if (!m) continue;
    const t = rows.find((x) => x.name.startsWith('model only, tfjs/') && x.name.endsWith(`batch ${m[1]}`));
    if (t) out[`onnx_vs_tfjs_batch${m[1]}`] = round(r.fps / t.fps, 2);
  }
  return out;
}

/** The whole result of `--engines`: the face model's per-engine timings and their ratios, with no input video. */
export async function benchEnginesOnly(batches: readonly number[] = ENGINE_BATCHES, threads?: number, log: (l: string) => void = () => {}): Promise<BenchResult> {
  const model = await loadModel('face');
  const rows = await benchEngines(model, batches, threads, log);
  return { input: '(none: model only)', width: model.descriptor.input.width, height: model.descriptor.input.height, engine: 'onnx, tfjs', rows, ratios: engineRatios(rows) };
}
