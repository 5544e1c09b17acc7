import type { BenchResult } from './result.js';

// The throughput targets of the project, stated as ratios so they hold on any machine: each is
// checked on the median of the paired rounds, not on one run.

/** One throughput target: the ratio it reads, its minimum and what it compares. */
export interface Target {
  key: string;
  min: number;
  what: string;
}

/** The throughput targets, in the order the table lists them. */
export const TARGETS: readonly Target[] = [
  { key: 'jsonl_vs_ceiling', min: 0.85, what: 'pipeline -> JSONL vs the slower ceiling' },
  { key: 'video_vs_ceiling', min: 0.7, what: 'pipeline -> JSONL + MP4 vs the slower ceiling' },
  { key: 'jsonl_vs_faceapi_loop', min: 10, what: "pipeline -> JSONL vs face-api's per-frame loop" },
  { key: 'video_vs_naive_fast', min: 1.3, what: 'pipeline -> JSONL + MP4 vs the naive loop (both write the MP4)' },
];

/** One line per target whose ratio the result has: the measured value, the minimum and met / NOT met / not measured. */
export function targetLines(ratios: BenchResult['ratios']): string[] {
  // A target whose key is absent (--engines, --soak) is not part of that run: no line at all.
  return TARGETS.filter((t) => t.key in ratios).map((t) => {
    const v = ratios[t.key];
    const verdict = v === null || v === undefined ? 'not measured' : v >= t.min ? 'met' : 'NOT met';
    return `  ${t.what}: ${v ?? 'n/a'} (target >= ${t.min}) ${verdict}`;
  });
}
