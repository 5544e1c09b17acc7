/*
 * Tracking benchmark: quality on the synthetic sets and the tracker's cost per frame.
 *   npm run bench:tracking        (node --import tsx bench/tracking.ts)
 * Prints, per preset, MOTA / IDF1 / ID switches (CLEAR MOT and identity metrics at IoU 0.5,
 * confirmed detections as hypotheses) and the time in ByteTracker.update per frame; then the
 * time per frame with 100 objects per frame (target: under 1 ms).
 */
import { ByteTracker } from '../src/tracking/byte-tracker.js';
import { evaluateTracker } from '../src/tracking/evaluate-tracker.js';
import { generateSceneSet, SCENE_PRESETS, type ScenePreset } from '../src/tracking/synthetic-scenes.js';

/** Sequences per quality set (300-450 frames each). */
const SEQUENCES = 8;
/** Runs over the dense sequence after one warm-up run. */
const DENSE_RUNS = 5;
/** Cost target per frame with 100 objects (issue 12). */
const TARGET_MS = 1;

function quality(): void {
  const presets: ScenePreset[] = ['easy', 'crowded', 'live'];
  console.log(`Quality (${SEQUENCES} sequences per preset, seeds 1..${SEQUENCES}; default tracker options)`);
  console.log(row(['preset', 'frames', 'GT boxes', 'MOTA', 'IDF1', 'IDP', 'IDR', 'ID sw', 'FN', 'FP', 'ms/frame']));
  // Warm the JIT so the first preset's ms/frame is not start-up.
  evaluateTracker(generateSceneSet('easy', 1, 99));
  for (const preset of presets) {
    const e = evaluateTracker(generateSceneSet(preset, SEQUENCES, 1));
    const s = e.summary;
    console.log(
      row([preset, e.frames, s.gt, s.mota.toFixed(3), s.idf1.toFixed(3), s.idp.toFixed(3), s.idr.toFixed(3), s.idSwitches, s.misses, s.falsePositives, e.msPerFrame.toFixed(3)]),
    );
  }
}

function cost(): void {
  const [sequence] = generateSceneSet('dense', 1, 1);
  const frames = sequence.frames;
  const objects = frames.reduce((n, f) => n + f.truth.length, 0) / frames.length;
  const detections = frames.reduce((n, f) => n + f.detections.length, 0) / frames.length;
  const times: number[] = [];
  let c0 = process.cpuUsage();
  for (let r = 0; r <= DENSE_RUNS; r++) {
    if (r === 1) c0 = process.cpuUsage(); // run 0 warms up
    const tracker = new ByteTracker({}, 'dense');
    for (const f of frames) {
      const t0 = performance.now();
      tracker.update(f, f.detections);
      const dt = performance.now() - t0;
      if (r > 0) times.push(dt);
    }
  }
  const cpu = process.cpuUsage(c0);
  // CPU time over the timed runs: unlike wall time, not inflated when other processes hold the cores.
  const cpuMs = (cpu.user + cpu.system) / 1000 / times.length;
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const pct = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log('');
  console.log(
    `Cost: ${objects.toFixed(0)} objects, ${detections.toFixed(1)} detections per frame (${SCENE_PRESETS.dense.classes} classes), ` +
      `${frames.length} frames x ${DENSE_RUNS} runs after a warm-up run`,
  );
  console.log(row(['mean ms', 'median ms', 'p99 ms', 'max ms', 'CPU ms', `target < ${TARGET_MS} ms`]));
  console.log(
    row([mean.toFixed(3), pct(0.5).toFixed(3), pct(0.99).toFixed(3), times[times.length - 1].toFixed(3), cpuMs.toFixed(3), mean < TARGET_MS ? 'met (mean)' : 'MISSED']),
  );
}

function row(cells: Array<string | number>): string {
  return cells.map((c) => String(c).padStart(10)).join(' ');
}

quality();
cost();
