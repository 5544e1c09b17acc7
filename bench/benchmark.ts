import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { OptionError } from '../src/errors.js';
import { loadModel } from '../src/model-io/load-model.js';
import { probeInput } from '../src/sources/probe.js';
import { decodeOnly, inferenceCeilings } from './ceilings.js';
import { openDetector } from './detector.js';
import { benchEngines, benchEnginesOnly, ENGINE_BATCHES } from './engines.js';
import { faceApiOnInput } from './face-api-loop.js';
import { naiveWasmLoop } from './naive-loop.js';
import { nodeDescription } from './node-description.js';
import { pairedRows, runPairedRounds } from './paired-rounds.js';
import { benchRatios } from './ratios.js';
import type { BenchResult } from './result.js';
import { makeSampleClip } from './sample-clip.js';
import { runSoak } from './soak.js';

/** Options of the benchmark. */
export interface BenchOptions {
  /** Input video; default: a 30 s 1280x720 clip made by scripts/make-samples.mjs into outDir (long enough that start-up and the final flush do not weigh on the pipeline rows). */
  input?: string;
  /** Where the generated input and the outputs go (default out/bench). */
  outDir?: string;
  /** Batch sizes tried for the inference-only ceiling (with enginesOnly: the per-engine batch sizes). */
  batches?: number[];
  /** Only the per-frame model time of both engines (issue: ONNX vs TF.js). */
  enginesOnly?: boolean;
  /** Frames for the naive loop on the fastest engine. */
  naiveFrames?: number;
  /** Frames for the naive loop on tfjs-wasm and for face-api's loop (slow: ~0.3 s each). */
  slowFrames?: number;
  /** Only the memory soak: RSS after 1,000 and 10,000 frames of detection (several minutes). */
  soak?: boolean;
  /** Engine threads (default: all cores). */
  threads?: number;
  /** Rounds of the paired ceiling / pipeline / naive-loop measurements (default 3); see runBenchmark. */
  rounds?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** Defaults of BenchOptions, defined once. */
export const BENCH_DEFAULTS = {
  outDir: path.join('out', 'bench'),
  batches: [1, 2, 4, 8],
  naiveFrames: 100,
  slowFrames: 20,
  rounds: 3,
} as const;

// Decoded frames kept for the inference-only ceiling, which cycles through them: two batches of
// the largest default batch (8), and little memory (16 x 2.6 MiB at 720p).
const KEPT_FRAMES = 16;

/**
 * Runs, in one invocation on the same input: the decode-only ceiling, the inference-only ceiling
 * per batch size, then `rounds` rounds of {inference-only at the best batch, the pipeline with
 * JSONL, with JSONL + MP4, the naive loop on the fastest engine} (see paired-rounds.ts for why),
 * then the model time of both engines, the naive loop on tfjs-wasm and face-api's own loop;
 * returns rows (medians over the rounds) and ratios (median of the per-round ratios).
 */
export async function runBenchmark(options: BenchOptions = {}): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? BENCH_DEFAULTS.rounds;
  if (!Number.isInteger(rounds) || rounds < 1) throw new OptionError('rounds', 'a positive integer', options.rounds);
  const threads = options.threads;
  const outDir = path.resolve(options.outDir ?? BENCH_DEFAULTS.outDir);
  await mkdir(outDir, { recursive: true });
  if (options.enginesOnly) return benchEnginesOnly(options.batches ?? ENGINE_BATCHES, threads, log);

  const input = options.input ?? (log('making the input clip (scripts/make-samples.mjs)'), await makeSampleClip(outDir));
  const info = await probeInput(input);
  if (options.soak) return runSoak(input, info, outDir, threads, log);

  log('decode-only ceiling');
  const decode = await decodeOnly(input, info, KEPT_FRAMES);
  const model = await loadModel('face');
  const fastest = await openDetector(model, { threads, warmupBatch: 1 });
  const ceilings = await inferenceCeilings(fastest.detector, fastest.name, decode.frames, options.batches ?? BENCH_DEFAULTS.batches, log);

  // The pipelines run before the TF.js stages: TF.js's wasm heap and face-api stay in this
  // process's memory afterwards and would slow them down.
  const paired = await runPairedRounds({
    input, info, outDir, threads,
    decodeFps: decode.row.fps,
    frames: decode.frames,
    detector: fastest.detector,
    batch: ceilings.bestBatch,
    naiveFrames: Math.min(options.naiveFrames ?? BENCH_DEFAULTS.naiveFrames, decode.row.frames),
  }, rounds, log);
  await fastest.engine.dispose();
  const engineRows = await benchEngines(model, ENGINE_BATCHES, threads, log);

  const slowFrames = Math.min(options.slowFrames ?? BENCH_DEFAULTS.slowFrames, decode.row.frames);
  log('naive sequential loop, tfjs-wasm');
  const wasm = await naiveWasmLoop(model, input, info, slowFrames, outDir);
  log("face-api's own per-frame loop (tfjs-wasm)");
  const faceApi = await faceApiOnInput(input, info, slowFrames);

  const rows = [decode.row, ...ceilings.rows, ...pairedRows(paired, ceilings.bestBatch, fastest.name), ...engineRows, wasm.row, ...(faceApi ? [faceApi.row] : [])];
  const ratios = benchRatios(paired.rounds, { naiveWasmFps: wasm.fps, faceApiFps: faceApi?.fps ?? null }, rows);
  return { input, width: info.width, height: info.height, engine: fastest.name, node: nodeDescription(), rows, ratios, rounds: paired.rounds };
}
