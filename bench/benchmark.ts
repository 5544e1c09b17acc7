import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, take, toArray } from 'rxjs';
import type { FrameDetections } from '../src/detection.js';
import { heapFlag } from '../src/heap-flag.js';
import { OptionError } from '../src/errors.js';
import type { Engine } from '../src/engines/engine.js';
import { createEngine } from '../src/engines/select-engine.js';
import type { Frame } from '../src/frame.js';
import { SsdDetector } from '../src/inference/detector.js';
import { loadModel, type LoadedModel } from '../src/model-io/load-model.js';
import { resolvePostprocess } from '../src/pipeline/options.js';
import { run } from '../src/pipeline/run.js';
import { openAnnotatedVideo } from '../src/sinks/annotated-video.js';
import { fileSource } from '../src/sources/file-source.js';
import { FlowControl } from '../src/sources/flow-control.js';
import { spawnFfmpeg } from '../src/ffmpeg/ffmpeg-process.js';
import { probeInput, type MediaInfo } from '../src/sources/probe.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Options of the benchmark. */
export interface BenchOptions {
  /** Input video; default: a 30 s 1280x720 clip made by scripts/make-samples.mjs into outDir (long enough that start-up and the final flush do not weigh on the pipeline rows). */
  input?: string;
  /** Where the generated input and the outputs go (default out/bench). */
  outDir?: string;
  /** Batch sizes tried for the inference-only ceiling. */
  batches?: number[];
  /** Only the per-frame model time of both engines (issue: ONNX vs TF.js). */
  enginesOnly?: boolean;
  /** Frames for the naive loop on the fastest engine. */
  naiveFrames?: number;
  /** Frames for the naive loop on tfjs-wasm and for face-api's loop (slow: ~0.3 s each). */
  slowFrames?: number;
  /** Only the memory soak: RSS after 1,000 and 10,000 frames of detection (several minutes). */
  soak?: boolean;
  threads?: number;
  /** Rounds of the paired ceiling / pipeline / naive-loop measurements (default 3); see runBenchmark. */
  rounds?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** One measured configuration. */
export interface BenchRow {
  name: string;
  frames: number;
  seconds: number;
  fps: number;
  note?: string;
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

const row = (name: string, frames: number, ms: number, note?: string): BenchRow => ({
  name,
  frames,
  seconds: round(ms / 1000, 3),
  fps: round(frames / (ms / 1000), 2),
  ...(note ? { note } : {}),
});

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

/** Makes the deterministic default input with the sample script (same content every time). */
async function defaultInput(outDir: string): Promise<string> {
  const file = path.join(outDir, 'people.mp4');
  await new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'scripts', 'make-samples.mjs'), outDir, '--seconds', '30'], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`make-samples.mjs exited with ${code}`))));
  });
  return file;
}

/** Decode-only ceiling: ffmpeg to raw frames, nothing else. Keeps the first `keep` frames. */
async function decodeOnly(input: string, info: MediaInfo, keep: number): Promise<{ row: BenchRow; frames: Frame[] }> {
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
  return { row: row('decode only (ffmpeg -> rgb24 frames)', n, performance.now() - t0), frames: kept };
}

/** Inference-only: the detector (preprocess + engine + decode + NMS) on frames already in memory. */
async function inferenceOnly(detector: SsdDetector, frames: Frame[], batch: number, minMs = 3000): Promise<BenchRow> {
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
  return row(`inference only, batch ${batch}`, n, performance.now() - t0);
}

/** The naive loop a user writes: one frame at a time, decode -> detect -> draw -> write. */
async function naiveLoop(input: string, info: MediaInfo, detect: (f: Frame) => Promise<FrameDetections>, frames: number, video: string): Promise<number> {
  const flow = new FlowControl(1, 0);
  const sink = await openAnnotatedVideo({ path: video, width: info.width, height: info.height, fps: info.fps });
  const t0 = performance.now();
  let n = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      const sub = fileSource(input, { info, flow }).subscribe({
        next: (f) => {
          chain = chain.then(async () => {
            if (n >= frames) return;
            await sink.write(await detect(f));
            n++;
            if (n >= frames) {
              sub.unsubscribe();
              resolve();
            } else flow.release(1);
          }).catch(reject);
        },
        error: reject,
        complete: () => void chain.then(() => resolve()),
      });
    });
  } finally {
    await sink.close();
  }
  return performance.now() - t0;
}

/** face-api's SsdMobilenetv1 on tfjs-wasm, one frame at a time (what a JS user writes today). */
async function faceApiLoop(frames: Frame[]): Promise<number | null> {
  const require = createRequire(import.meta.url);
  let faceapi: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model'));
  } catch {
    return null; // @tensorflow/tfjs (a devDependency) is not installed
  }
  const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const one = async (f: Frame): Promise<void> => {
    const t = faceapi.tf.tensor3d(f.data, [f.height, f.width, 3], 'int32');
    await faceapi.detectAllFaces(t, opts);
    t.dispose();
  };
  await one(frames[0]);
  const t0 = performance.now();
  for (const f of frames) await one(f);
  const ms = performance.now() - t0;
  faceapi.nets.ssdMobilenetv1.dispose();
  return ms;
}

/** Model time per frame (engine.run only, no preprocessing or decoding) for one engine. */
async function engineTimes(engine: Engine, inputSize: number, batches: number[], minMs: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const b of batches) {
    const input = new Float32Array(b * inputSize).fill(0.1);
    await engine.run(input.slice(), b); // warm this batch shape
    let n = 0;
    const t0 = performance.now();
    do {
      await engine.run(input.slice(), b);
      n += b;
    } while (performance.now() - t0 < minMs);
    const ms = performance.now() - t0;
    rows.push({ ...row(`model only, ${engine.kind}/${engine.backend}, batch ${b}`, n, ms), note: `${round(ms / n, 2)} ms/frame` });
  }
  return rows;
}

/**
 * Per-frame model time for both engines at the same batch sizes, in one run (ONNX Runtime on
 * the main thread, TF.js on its best backend here).
 */
export async function benchEngines(model: LoadedModel, batches: number[] = [1, 4, 8], threads?: number, log: (l: string) => void = () => {}): Promise<BenchRow[]> {
  const size = model.descriptor.input.width * model.descriptor.input.height * 3;
  const rows: BenchRow[] = [];
  for (const kind of ['onnx', 'tfjs'] as const) {
    log(`model time per frame, ${kind}`);
    const engine = await createEngine(model.graph, { engine: kind, threads });
    try {
      rows.push(...(await engineTimes(engine, size, batches, kind === 'onnx' ? 2000 : 1500)));
    } finally {
      await engine.dispose();
    }
  }
  return rows;
}

/** Loops the input with stream copy (no re-encode) until it has at least `frames` frames. */
async function loopedInput(input: string, info: MediaInfo, frames: number, outDir: string): Promise<string> {
  const per = info.frameCount ?? 250;
  const file = path.join(outDir, `looped-${frames}.mp4`);
  if (!existsSync(file)) {
    const p = spawnFfmpeg(['-y', '-loglevel', 'error', '-stream_loop', String(Math.ceil(frames / per)), '-i', input, '-c', 'copy', file], { stdin: 'ignore' });
    p.stdout.resume();
    await p.done;
  }
  return file;
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

/** e.g. 'v20.20.2 --initial-old-space-size=128' or 'v20.20.2 (default v8 heap)'. */
function nodeDescription(): string {
  return `${process.version} ${heapFlag() ?? '(default v8 heap)'}`;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs, in one invocation on the same input: the decode-only ceiling, the inference-only ceiling
 * per batch size, then `rounds` rounds of {inference-only at the best batch, the pipeline with
 * JSONL, with JSONL + MP4, the naive loop on the fastest engine}, then the naive loop on tfjs-wasm
 * and face-api's own loop; returns rows (medians over the rounds) and ratios (median of the
 * per-round ratios).
 *
 * Why rounds: on a shared 2-core machine the speed of the whole machine drifts by 10-15% within
 * minutes. A ceiling measured once and a pipeline measured a minute later then compare two
 * different machines; each round's ratio uses the ceiling measured just before its runs.
 */
export async function runBenchmark(options: BenchOptions = {}): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new OptionError('rounds', 'a positive integer', options.rounds);
  const outDir = path.resolve(options.outDir ?? path.join('out', 'bench'));
  await mkdir(outDir, { recursive: true });
  if (options.enginesOnly) {
    const model = await loadModel('face');
    const rows = await benchEngines(model, options.batches ?? [1, 4, 8], options.threads, log);
    return { input: '(none: model only)', width: model.descriptor.input.width, height: model.descriptor.input.height, engine: 'onnx, tfjs', rows, ratios: engineRatios(rows) };
  }
  const input = options.input ?? (log('making the input clip (scripts/make-samples.mjs)'), await defaultInput(outDir));
  const info = await probeInput(input);
  if (options.soak) return soak(input, info, outDir, options.threads, log);
  const rows: BenchRow[] = [];

  log('decode-only ceiling');
  const dec = await decodeOnly(input, info, 16);
  rows.push(dec.row);

  const model: LoadedModel = await loadModel('face');
  const post = resolvePostprocess({}, model.descriptor);
  const engine: Engine = await createEngine(model.graph, { threads: options.threads, warmupBatch: 1 });
  const fast = new SsdDetector(model.descriptor, engine, post);
  const engineName = `${engine.kind}/${engine.backend}`;
  let bestInference = 0;
  let bestBatch = 1;
  for (const b of options.batches ?? [1, 2, 4, 8]) {
    log(`inference-only ceiling, batch ${b}`);
    const r = await inferenceOnly(fast, dec.frames, b);
    rows.push({ ...r, name: `${r.name} (${engineName})` });
    if (r.fps > bestInference) {
      bestInference = r.fps;
      bestBatch = b;
    }
  }

  // The pipelines run before the TF.js stages: TF.js's wasm heap and face-api stay in this
  // process's memory afterwards and would slow them down.
  const naiveN = Math.min(options.naiveFrames ?? 100, dec.row.frames);
  const perRound: BenchRound[] = [];
  const last = { inference: 0, jsonl: 0, video: 0, naive: 0 };
  for (let k = 1; k <= rounds; k++) {
    log(`round ${k}/${rounds}: inference-only (batch ${bestBatch}), pipeline -> JSONL, pipeline -> JSONL + MP4, naive loop`);
    const inf = await inferenceOnly(fast, dec.frames, bestBatch);
    const pj = await run(input, { jsonl: path.join(outDir, 'bench.jsonl'), batch: bestBatch, threads: options.threads });
    const pv = await run(input, { jsonl: path.join(outDir, 'bench-video.jsonl'), video: path.join(outDir, 'bench.mp4'), batch: bestBatch, threads: options.threads });
    const naiveMs = await naiveLoop(input, info, async (f) => (await fast.detect([f]))[0], naiveN, path.join(outDir, 'naive.mp4'));
    Object.assign(last, { inference: inf.frames, jsonl: pj.frames, video: pv.frames, naive: naiveN });
    const ceiling = Math.min(dec.row.fps, inf.fps);
    const naiveFps = naiveN / (naiveMs / 1000);
    perRound.push({
      inference_fps: inf.fps,
      ceiling_fps: round(ceiling, 2),
      jsonl_fps: round(pj.fps, 2),
      video_fps: round(pv.fps, 2),
      naive_fps: round(naiveFps, 2),
      jsonl_vs_ceiling: round(pj.fps / ceiling, 3),
      video_vs_ceiling: round(pv.fps / ceiling, 3),
      video_vs_naive_fast: round(pv.fps / naiveFps, 3),
    });
  }
  const med = (key: keyof BenchRound): number => median(perRound.map((r) => r[key]));
  const spread = (key: keyof BenchRound): string => {
    const v = perRound.map((r) => r[key]);
    return rounds > 1 ? `median of ${rounds}, ${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)}` : '';
  };
  const medianRow = (name: string, key: keyof BenchRound, frames: number): BenchRow => ({
    name, frames, seconds: round(frames / med(key), 3), fps: round(med(key), 2), ...(rounds > 1 ? { note: spread(key) } : {}),
  });
  rows.push(medianRow(`inference only, batch ${bestBatch} (${engineName}), paired with each round`, 'inference_fps', last.inference));
  rows.push(medianRow(`pipeline -> JSONL (batch ${bestBatch})`, 'jsonl_fps', last.jsonl));
  rows.push(medianRow(`pipeline -> JSONL + MP4 (batch ${bestBatch})`, 'video_fps', last.video));
  rows.push(medianRow(`naive loop (${engineName}, decode->detect->draw->write)`, 'naive_fps', last.naive));
  await engine.dispose();
  rows.push(...(await benchEngines(model, [1, 4, 8], options.threads, log)));

  const slowN = Math.min(options.slowFrames ?? 20, dec.row.frames);
  log('naive sequential loop, tfjs-wasm');
  const wasm = await createEngine(model.graph, { engine: 'tfjs', backend: 'wasm' });
  const slow = new SsdDetector(model.descriptor, wasm, post);
  const wasmMs = await naiveLoop(input, info, async (f) => (await slow.detect([f]))[0], slowN, path.join(outDir, 'naive-wasm.mp4'));
  rows.push(row('naive loop (tfjs/wasm, ssdpipe graph)', slowN, wasmMs));
  await wasm.dispose();

  log("face-api's own per-frame loop (tfjs-wasm)");
  const frames20 = await lastValueFrom(fileSource(input, { info }).pipe(take(slowN), toArray()));
  const faceApiMs = await faceApiLoop(frames20);
  if (faceApiMs !== null) rows.push(row('face-api SsdMobilenetv1 loop (tfjs/wasm, detect only)', frames20.length, faceApiMs));

  const jsonlFps = med('jsonl_fps');
  const result: BenchResult = {
    input,
    width: info.width,
    height: info.height,
    engine: engineName,
    node: nodeDescription(),
    rows,
    ratios: {
      ceiling_fps: round(med('ceiling_fps'), 2),
      jsonl_vs_ceiling: round(med('jsonl_vs_ceiling'), 3),
      video_vs_ceiling: round(med('video_vs_ceiling'), 3),
      jsonl_vs_faceapi_loop: faceApiMs === null ? null : round(jsonlFps / (frames20.length / (faceApiMs / 1000)), 2),
      jsonl_vs_naive_wasm: round(jsonlFps / (slowN / (wasmMs / 1000)), 2),
      jsonl_vs_naive_fast: round(jsonlFps / med('naive_fps'), 2),
      video_vs_naive_fast: round(med('video_vs_naive_fast'), 2),
      ...engineRatios(rows),
    },
    rounds: perRound,
  };

  return result;
}

/** onnx vs tfjs speed-up per batch size, from the 'model only' rows. */
function engineRatios(rows: BenchRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const m = /^model only, onnx\/\w+, batch (\d+)$/.exec(r.name);
    if (!m) continue;
    const t = rows.find((x) => x.name.startsWith('model only, tfjs/') && x.name.endsWith(`batch ${m[1]}`));
    if (t) out[`onnx_vs_tfjs_batch${m[1]}`] = round(r.fps / t.fps, 2);
  }
  return out;
}

/**
 * Memory soak, alone in its process so earlier stages (TF.js's wasm heap never shrinks) do not
 * count: RSS after 1,000 and after 10,000 frames of detect() over the input looped by stream copy.
 */
async function soak(input: string, info: MediaInfo, outDir: string, threads: number | undefined, log: (l: string) => void): Promise<BenchResult> {
  log('memory soak: detection over 10,000 frames');
  const long = await loopedInput(input, info, 10_000, outDir);
  const rss: number[] = [];
  const { detect } = await import('../src/pipeline/detect.js');
  const t0 = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    const sub = detect(long, { threads }).subscribe({
      next: () => {
        n++;
        if (n === 1000 || n === 10_000) rss.push(process.memoryUsage().rss);
        if (n === 10_000) {
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
    rows: [row('soak: detect() over the looped input', n, performance.now() - t0)],
    ratios: {},
  };
  if (rss.length === 2) {
    result.rss = { after1000MiB: round(rss[0] / 2 ** 20, 1), after10000MiB: round(rss[1] / 2 ** 20, 1), growth: round(rss[1] / rss[0] - 1, 3) };
  }
  return result;
}

/** The throughput targets, each with its measured value and whether it is met. */
const TARGETS: readonly { key: string; min: number; what: string }[] = [
  { key: 'jsonl_vs_ceiling', min: 0.85, what: 'pipeline -> JSONL vs the slower ceiling' },
  { key: 'video_vs_ceiling', min: 0.7, what: 'pipeline -> JSONL + MP4 vs the slower ceiling' },
  { key: 'jsonl_vs_faceapi_loop', min: 10, what: "pipeline -> JSONL vs face-api's per-frame loop" },
  { key: 'video_vs_naive_fast', min: 1.3, what: 'pipeline -> JSONL + MP4 vs the naive loop (both write the MP4)' },
];

function targetLines(ratios: BenchResult['ratios']): string[] {
  return TARGETS.filter((t) => t.key in ratios).map((t) => {
    const v = ratios[t.key];
    const verdict = v === null || v === undefined ? 'not measured' : v >= t.min ? 'met' : 'NOT met';
    return `  ${t.what}: ${v ?? 'n/a'} (target >= ${t.min}) ${verdict}`;
  });
}

/** The table printed by `ssdpipe bench`. */
export function formatBench(r: BenchResult): string {
  const lines = [`input ${r.input} (${r.width}x${r.height}), fastest engine ${r.engine}${r.node ? `, node ${r.node}` : ''}`, ''];
  lines.push(`${'configuration'.padEnd(62)} ${'frames'.padStart(6)} ${'seconds'.padStart(8)} ${'fps'.padStart(8)}`);
  for (const x of r.rows) {
    lines.push(`${x.name.padEnd(62)} ${String(x.frames).padStart(6)} ${x.seconds.toFixed(2).padStart(8)} ${x.fps.toFixed(1).padStart(8)}${x.note ? `  ${x.note}` : ''}`);
  }
  lines.push('');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`${k.padEnd(24)} ${v ?? 'n/a'}`);
  if (r.rounds && r.rounds.length > 1) {
    lines.push('', 'per round (each ratio uses the ceiling measured at the start of its round):');
    lines.push(`${'round'.padEnd(6)} ${'ceiling'.padStart(8)} ${'jsonl'.padStart(8)} ${'mp4'.padStart(8)} ${'naive'.padStart(8)} ${'jsonl/ceil'.padStart(11)} ${'mp4/ceil'.padStart(9)} ${'mp4/naive'.padStart(10)}`);
    r.rounds.forEach((x, i) => {
      lines.push(`${String(i + 1).padEnd(6)} ${x.ceiling_fps.toFixed(1).padStart(8)} ${x.jsonl_fps.toFixed(1).padStart(8)} ${x.video_fps.toFixed(1).padStart(8)} ${x.naive_fps.toFixed(1).padStart(8)} ${x.jsonl_vs_ceiling.toFixed(3).padStart(11)} ${x.video_vs_ceiling.toFixed(3).padStart(9)} ${x.video_vs_naive_fast.toFixed(2).padStart(10)}`);
    });
  }
  const targets = targetLines(r.ratios);
  if (targets.length) lines.push('', 'throughput targets, on the medians:', ...targets);
  if (r.rss) lines.push(`rss after 1,000 frames ${r.rss.after1000MiB} MiB, after 10,000 ${r.rss.after10000MiB} MiB (growth ${(r.rss.growth * 100).toFixed(1)}%)`);
  return lines.join('\n');
}
