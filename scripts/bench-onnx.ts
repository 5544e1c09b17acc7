// Benchmark of the ONNX Runtime engine on the face model: ms per frame at batch 1, 4, 8.
// Run: npx tsx scripts/bench-onnx.ts [--threads N] [--frames N] [--batches 1,4,8] [--device cpu|cuda]
// Each batch size gets one untimed warm-up run, then runs until about N frames (default 32,
// at least 3 runs) are timed; the median run is reported next to the mean. Inputs are random
// values in [-1, 1] (the normalized range). The model cache is bypassed so load time includes
// generating the ONNX model.
import { createOnnxEngine, type OnnxDevice } from '../src/engines/onnx.js';
import { loadModel } from '../src/model/load-model.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const threads = Number(arg('threads', '2'));
  const framesPerSize = Number(arg('frames', '32'));
  const batches = arg('batches', '1,4,8').split(',').map(Number);
  const device = arg('device', 'cpu') as OnnxDevice;
  const { graph } = await loadModel('face');
  const t0 = performance.now();
  const engine = await createOnnxEngine(graph, { threads, device, cacheDir: null, warmupBatch: 1 });
  console.log(`model face ${graph.inputWidth}x${graph.inputHeight}, ${graph.numAnchors} anchors`);
  console.log(`engine onnx/${engine.backend}: ${engine.reason}`);
  console.log(`generate + load + warm-up: ${(performance.now() - t0).toFixed(0)} ms`);
  console.log('batch  runs  ms/batch(mean)  ms/batch(median)  ms/frame  frames/s');
  const frame = graph.inputHeight * graph.inputWidth * 3;
  try {
    for (const batch of batches) {
      const input = new Float32Array(batch * frame);
      for (let i = 0; i < input.length; i++) input[i] = Math.random() * 2 - 1;
      await engine.run(input, batch); // warm-up for this batch shape
      const runs = Math.max(3, Math.ceil(framesPerSize / batch));
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const start = performance.now();
        await engine.run(input, batch);
        times.push(performance.now() - start);
      }
      const mean = times.reduce((a, b) => a + b, 0) / runs;
      const median = [...times].sort((a, b) => a - b)[Math.floor(runs / 2)];
      console.log(
        `${String(batch).padStart(5)}  ${String(runs).padStart(4)}  ${mean.toFixed(1).padStart(14)}  ${median.toFixed(1).padStart(16)}  ${(median / batch).toFixed(1).padStart(8)}  ${((1000 * batch) / median).toFixed(2).padStart(8)}`,
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
