import { engineRatios } from './engines.js';
import type { BenchResult, BenchRound, BenchRow } from './result.js';
import { medianOf } from './paired-rounds.js';
import { round } from './stats.js';

/** The unrounded fps of the loops measured once, after the rounds (null: face-api could not run). */
export interface SlowLoops {
  naiveWasmFps: number;
  faceApiFps: number | null;
}

/** The ratios the throughput targets are stated in: medians of the paired rounds, the slow loops against the median JSONL fps, and onnx vs tfjs. */
export function benchRatios(rounds: readonly BenchRound[], slow: SlowLoops, rows: readonly BenchRow[]): BenchResult['ratios'] {
  // The paired ratios are medians of per-round ratios (each against its own round's ceiling),
  // not ratios of medians; the slow loops ran once, so they are set against the median JSONL fps.
  const jsonlFps = medianOf(rounds, 'jsonl_fps');
  return {
    ceiling_fps: round(medianOf(rounds, 'ceiling_fps'), 2),
    jsonl_vs_ceiling: round(medianOf(rounds, 'jsonl_vs_ceiling'), 3),
    video_vs_ceiling: round(medianOf(rounds, 'video_vs_ceiling'), 3),
    jsonl_vs_faceapi_loop: slow.faceApiFps === null ? null : round(jsonlFps / slow.faceApiFps, 2),
    jsonl_vs_naive_wasm: round(jsonlFps / slow.naiveWasmFps, 2),
    jsonl_vs_naive_fast: round(jsonlFps / medianOf(rounds, 'naive_fps'), 2),
    video_vs_naive_fast: round(medianOf(rounds, 'video_vs_naive_fast'), 2),
    ...engineRatios(rows),
  };
}
