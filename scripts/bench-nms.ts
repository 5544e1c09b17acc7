/**
 * NMS benchmark: prints milliseconds per run for random candidate sets (5118 = the face model's
 * anchor count, and 20000), hard and soft-Gaussian, maxDetections 100 and unlimited.
 * Run: npx tsx scripts/bench-nms.ts
 */
import { nonMaxSuppression, type NmsOptions } from '../src/model/nms.js';

function randomSet(n: number, seed: number): { boxes: Float32Array; scores: Float32Array } {
  let s = seed;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const boxes = new Float32Array(n * 4); // [n, 4] x1y1x2y2, normalized, sizes 0.02..0.3
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = rand() * 0.9, y = rand() * 0.9, w = 0.02 + rand() * 0.28, h = 0.02 + rand() * 0.28;
    boxes.set([x, y, x + w, y + h], i * 4);
    scores[i] = rand();
  }
  return { boxes, scores };
}

function bench(n: number, opts: NmsOptions): { ms: number; kept: number } {
  const { boxes, scores } = randomSet(n, 42);
  let kept = 0;
  for (let i = 0; i < 3; i++) kept = nonMaxSuppression(boxes, scores, opts).indices.length; // warm-up
  const runs = 20;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) nonMaxSuppression(boxes, scores, opts);
  return { ms: (performance.now() - t0) / runs, kept };
}

const rows: string[][] = [['candidates', 'method', 'maxDetections', 'ms/run', 'kept']];
for (const n of [5118, 20000]) {
  for (const method of ['hard', 'soft-gaussian'] as const) {
    for (const maxDetections of [100, Infinity]) {
      const opts: NmsOptions = { iouThreshold: method === 'hard' ? 0.5 : 0.7, scoreThreshold: method === 'hard' ? 0 : 0.05, maxDetections, method, sigma: 0.5 };
      const { ms, kept } = bench(n, opts);
      rows.push([String(n), method, String(maxDetections), ms.toFixed(2), String(kept)]);
    }
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c])).join('  '));
