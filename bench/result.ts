import { round } from './stats.js';

// The records the benchmark produces: what runBenchmark returns, formatBench prints and the CLI
// writes as its JSON line. Kept apart from the measurements so the formatter and its tests do
// not load ffmpeg, the engines or the model.

/** One measured configuration (a row of the table). */
export interface BenchRow {
  name: string;
  frames: number;
  seconds: number;
  fps: number;
  note?: string;
}

/** One round of the paired measurements: a ceiling taken right before the runs it is compared with. */
export interface BenchRound {
  inference_fps: number;
  ceiling_fps: number;
  jsonl_fps: number;
  video_fps: number;
  naive_fps: number;
  jsonl_vs_ceiling: number;
  video_vs_ceiling: number;
  video_vs_naive_fast: number;
}

/** Everything the benchmark measured, with the ratios the throughput targets are stated in. */
export interface BenchResult {
  input: string;
  width: number;
  height: number;
  engine: string;
  rows: BenchRow[];
  ratios: Record<string, number | null>;
  /** The node running the benchmark and its V8 heap flag, if any (bin/ssdpipe sets one). */
  node?: string;
  /** Each round's paired measurements (the pipeline benchmark). */
  rounds?: BenchRound[];
  rss?: { after1000MiB: number; after10000MiB: number; growth: number };
}

/** A row from a frame count and the milliseconds they took (seconds to 3 places, fps to 2). */
export function benchRow(name: string, frames: number, ms: number, note?: string): BenchRow {
  return {
    name,
    frames,
    seconds: round(ms / 1000, 3),
    fps: round(frames / (ms / 1000), 2),
    ...(note ? { note } : {}),
  };
}
