import type { Frame } from '../src/frame.js';
import type { SsdDetector } from '../src/inference/detector.js';
import { fileSource } from '../src/sources/file-source.js';
import type { MediaInfo } from '../src/sources/probe.js';
import { benchRow, type BenchRow } from './result.js';

// The two ceilings the pipeline is compared with: it cannot go faster than ffmpeg decodes, nor
// faster than the detector runs on frames already in memory. The slower of the two is the bar.

/** Minimum duration of one inference-only measurement: long enough to average over the machine's jitter. */
export const INFERENCE_MIN_MS = 3000;

/** Decode-only ceiling: ffmpeg to raw frames, nothing else; keeps the first `keep` frames for the inference ceiling. */
export async function decodeOnly(input: string, info: MediaInfo, keep: number): Promise<{ row: BenchRow; frames: Frame[] }> {
  const kept: Frame[] = [];
  let n = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    fileSource(input, { info }).subscribe({
      next: (f) => {
        n++;
        if (kept.length < keep) kept.push(f);
      },
      error: reject,
      complete: resolve,
    });
  });
  return { row: benchRow('decode only (ffmpeg -> rgb24 frames)', n, performance.now() - t0), frames: kept };
}

/** Inference-only ceiling: the detector (preprocess + engine + decode + NMS) on frames already in memory. */
export async function inferenceOnly(detector: SsdDetector, frames: Frame[], batch: number, minMs = INFERENCE_MIN_MS): Promise<BenchRow> {
  await detector.detect(frames.slice(0, batch)); // warm this batch shape
  let n = 0;
  let i = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    const b: Frame[] = [];
    for (let k = 0; k < batch; k++) b.push(frames[(i++) % frames.length]);
    await detector.detect(b);
    n += batch;
  }
  return benchRow(`inference only, batch ${batch}`, n, performance.now() - t0);
}

/** The inference-only ceiling at each batch size, and the batch that was fastest (the pipeline runs at it). */
export async function inferenceCeilings(
  detector: SsdDetector,
  engineName: string,
  frames: Frame[],
  batches: readonly number[],
  log: (line: string) => void,
): Promise<{ rows: BenchRow[]; bestBatch: number }> {
  const rows: BenchRow[] = [];
  let bestInference = 0;
  let bestBatch = 1;
  for (const b of batches) {
    log(`inference-only ceiling, batch ${b}`);
    const r = await inferenceOnly(detector, frames, b);
    rows.push({ ...r, name: `${r.name} (${engineName})` });
    if (r.fps > bestInference) {
      bestInference = r.fps;
      bestBatch = b;
    }
  }
  return { rows, bestBatch };
}
