// Benchmark of the TF.js engine on the face model: ms per frame at batch 1, 2, 4, 8.
// Run: npx tsx scripts/bench-tfjs.ts [--backend auto|tensorflow|wasm|cpu] [--frames N]
// Each batch size gets one untimed warm-up run, then runs until about N frames (default 16,
// at least 2 runs) are timed. Inputs are random values in [-1, 1] (the normalized range).
import { createTfjsEngine } from '../src/engines/tfjs.js';
import { loadModel } from '../src/model/load-model.js';

const BATCHES = [1, 2, 4, 8];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const backend = arg('backend', 'auto');
  const framesPerSize = Number(arg('frames', '16'));
  const { graph } = await loadModel('face');
  const t0 = performance.now();
  const engine = await createTfjsEngine(graph, { backend, warmupBatch: 1 });
  console.log(`model face ${graph.inputWidth}x${graph.inputHeight}, ${graph.numAnchors} anchors`);
  console.log(`engine tfjs/${engine.backend}: ${engine.reason}`);
  console.log(`load + warm-up: ${(performance.now() - t0).toFixed(0)} ms`);
  console.log('batch  runs  ms/batch  ms/frame  frames/s');
  const frame = graph.inputHeight * graph.inputWidth * 3;
  try {
    for (const batch of BATCHES) {
      const input = new Float32Array(batch * frame);
      for (let i = 0; i < input.length; i++) input[i] = Math.random() * 2 - 1;
      await engine.run(input, batch); // warm-up for this batch shape
      const runs = Math.max(2, Math.ceil(framesPerSize / batch));
      const start = performance.now();
      for (let r = 0; r < runs; r++) await engine.run(input, batch);
      const ms = (performance.now() - start) / runs;
      console.log(
        `${String(batch).padStart(5)}  ${String(runs).padStart(4)}  ${ms.toFixed(1).padStart(8)}  ${(ms / batch).toFixed(1).padStart(8)}  ${((1000 * batch) / ms).toFixed(2).padStart(8)}`,
      );
    }
  } finally {
    await engine.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
