import type { MediaInfo } from '../src/sources/probe.js';
import { benchRow, type BenchResult } from './result.js';
import { loopClip } from './sample-clip.js';
import { round } from './stats.js';

// The frame counts at which RSS is read: growth between them is what a leak looks like, after
// start-up allocations have settled.
const EARLY = 1000;
const LATE = 10_000;

/** Memory soak (`--soak`): RSS after 1,000 and after 10,000 frames of detect() over the input looped by stream copy. */
export async function runSoak(input: string, info: MediaInfo, outDir: string, threads: number | undefined, log: (l: string) => void): Promise<BenchResult> {
  // Run alone in its process (runBenchmark returns right after): TF.js's wasm heap never shrinks,
  // so any earlier stage would count in the RSS.
  log('memory soak: detection over 10,000 frames');
  const long = await loopClip(input, info, LATE, outDir);
  const rss: number[] = [];
  const { detect } = await import('../src/pipeline/detect.js');
  const t0 = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    const sub = detect(long, { threads }).subscribe({
      next: () => {
        n++;
        if (n === EARLY || n === LATE) rss.push(process.memoryUsage().rss);
        if (n === LATE) {
          sub.unsubscribe();
          resolve();
        }
      },
      error: reject,
      complete: resolve,
    });
  });
  const result: BenchResult = {
    input: long, width: info.width, height: info.height, engine: 'auto',
    rows: [benchRow('soak: detect() over the looped input', n, performance.now() - t0)],
    ratios: {},
  };
  if (rss.length === 2) {
    result.rss = { after1000MiB: round(rss[0] / 2 ** 20, 1), after10000MiB: round(rss[1] / 2 ** 20, 1), growth: round(rss[1] / rss[0] - 1, 3) };
  }
  return result;
}
