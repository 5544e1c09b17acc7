import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { EngineError, OptionError } from '../../src/errors.js';
import { createOnnxEngine, cudaProviderInstalled, onnxRuntimeAvailable, type OnnxEngine } from '../../src/engines/onnx.js';
import { loadModel } from '../../src/model-io/load-model.js';
import type { SsdGraph } from '../../src/model/ssd-graph.js';
import { FACE_FRAME, maxAbsDiff, randomFrames } from '../helpers/arrays.js';

const FACE_API_DEMO = path.resolve('node_modules/@vladmandic/face-api/demo');
const FRAME = FACE_FRAME;

/** A demo photo letterboxed to 512x512 (top-left, black padding), normalized x/127.5 - 1, NHWC. */
async function demoFrame(file: string): Promise<Float32Array> {
  const img = await loadImage(path.join(FACE_API_DEMO, file));
  const scale = 512 / Math.max(img.width, img.height);
  const canvas = createCanvas(512, 512);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'black';
  ctx.fillRect(0, 0, 512, 512);
  ctx.drawImage(img, 0, 0, img.width * scale, img.height * scale);
  const rgba = ctx.getImageData(0, 0, 512, 512).data;
  const out = new Float32Array(FRAME);
  for (let i = 0; i < 512 * 512; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = rgba[i * 4 + c] * 0.007843137718737125 - 1;
  }
  return out;
}

/** Highest face probability (sigmoid of class column 1) over the frame's anchors. */
function bestFaceScore(classLogits: Float32Array, frame: number): number {
  let best = 0;
  for (let a = 0; a < 5118; a++) best = Math.max(best, 1 / (1 + Math.exp(-classLogits[(frame * 5118 + a) * 3 + 1])));
  return best;
}

describe('engines/onnx', function () {
  this.timeout(60_000);
  let graph: SsdGraph;
  let cacheDir: string;
  let engine: OnnxEngine;

  before(async () => {
    graph = (await loadModel('face')).graph;
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-onnx-test-'));
    engine = await createOnnxEngine(graph, { threads: 2, cacheDir });
  });

  after(async () => {
    await engine?.dispose();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('onnxRuntimeAvailable says the runtime works here', async () => {
    const res = await onnxRuntimeAvailable();
    expect(res.ok, res.reason).to.equal(true);
    expect(res.reason).to.match(/onnxruntime-node \d+\.\d+/);
  });

  it('describes itself: kind onnx, cpu backend, threads and model source in the reason', () => {
    expect(engine.kind).to.equal('onnx');
    expect(engine.backend).to.equal('cpu');
    expect(engine.reason).to.match(/2 threads/);
    expect(engine.reason).to.include(`generated model, cached at ${cacheDir}`);
  });

  it('returns [1, 5118, 4] and [1, 5118, 3] for batch 1', async () => {
    const out = await engine.run(randomFrames(1, 1), 1);
    expect(out.batch).to.equal(1);
    expect(out.boxEncodings).to.be.instanceOf(Float32Array);
    expect(out.classLogits).to.be.instanceOf(Float32Array);
    expect(out.boxEncodings.length).to.equal(5118 * 4);
    expect(out.classLogits.length).to.equal(5118 * 3);
    expect(out.boxEncodings.every(Number.isFinite)).to.equal(true);
  });

  it('returns [3, 5118, 4] and [3, 5118, 3] for batch 3, each frame equal to its batch-1 run', async () => {
    const input = randomFrames(3, 7);
    const out = await engine.run(input, 3);
    expect(out.batch).to.equal(3);
    expect(out.boxEncodings.length).to.equal(3 * 5118 * 4);
    expect(out.classLogits.length).to.equal(3 * 5118 * 3);
    for (let i = 0; i < 3; i++) {
      // A view into the batch buffer (byteOffset > 0), as a batcher would pass it.
      const one = await engine.run(input.subarray(i * FRAME, (i + 1) * FRAME), 1);
      expect(maxAbsDiff(one.boxEncodings, out.boxEncodings.subarray(i * 5118 * 4, (i + 1) * 5118 * 4))).to.be.below(1e-5);
      expect(maxAbsDiff(one.classLogits, out.classLogits.subarray(i * 5118 * 3, (i + 1) * 5118 * 3))).to.be.below(1e-5);
    }
    // Frames differ, so their outputs must too (the batch is not one frame repeated).
    expect(maxAbsDiff(out.classLogits.subarray(0, 5118 * 3), out.classLogits.subarray(5118 * 3, 2 * 5118 * 3))).to.be.above(1e-3);
  });

  it('finds faces in face-api demo photos and none in a blank frame', async () => {
    const photo = await demoFrame('sample1.jpg');
    const blank = new Float32Array(FRAME); // 0 after normalization: a flat mid-grey frame
    const input = new Float32Array(2 * FRAME);
    input.set(photo, 0);
    input.set(blank, FRAME);
    const out = await engine.run(input, 2);
    expect(bestFaceScore(out.classLogits, 0)).to.be.above(0.9);
    expect(bestFaceScore(out.classLogits, 1)).to.be.below(0.5);
  });

  it('rejects an input of the wrong size and runs after dispose with EngineError', async () => {
    let err: unknown;
    await engine.run(new Float32Array(FRAME - 3), 1).catch((e: unknown) => { err = e; });
    expect(err).to.be.instanceOf(EngineError);
    expect((err as EngineError).message).to.match(/expected batch \(1\)/);
    const e2 = await createOnnxEngine(graph, { threads: 1, cacheDir, warmupBatch: 0 });
    await e2.dispose();
    err = undefined;
    await e2.run(randomFrames(1, 1), 1).catch((e: unknown) => { err = e; });
    expect(err).to.be.instanceOf(EngineError);
  });

  it('dispose right after a run was started waits for it instead of crashing the process', async () => {
    const e = await createOnnxEngine(graph, { threads: 1, cacheDir, warmupBatch: 0 });
    const pending = e.run(randomFrames(1, 2), 1); // onnxruntime-node starts it on a later tick
    await e.dispose();
    const out = await pending;
    expect(out.classLogits.length).to.equal(5118 * 3);
  });

  it('validates options when built', async () => {
    for (const bad of [{ threads: 0 }, { threads: 1.5 }, { device: 'tpu' as 'cpu' }, { warmupBatch: -1 }]) {
      let err: unknown;
      await createOnnxEngine(graph, { cacheDir, ...bad }).catch((e: unknown) => { err = e; });
      expect(err, JSON.stringify(bad)).to.be.instanceOf(OptionError);
    }
  });

  it('device auto uses cpu where the CUDA provider is not installed', async () => {
    expect(cudaProviderInstalled()).to.equal(false); // .npmrc skips the CUDA download here
    const e = await createOnnxEngine(graph, { threads: 1, cacheDir, warmupBatch: 0 });
    try {
      expect(e.backend).to.equal('cpu');
    } finally {
      await e.dispose();
    }
  });

  it('with device cuda falls back to cpu when CUDA is not installed, saying so', async function () {
    const e = await createOnnxEngine(graph, { threads: 1, cacheDir, device: 'cuda', warmupBatch: 0 });
    try {
      if (e.backend === 'cuda') this.skip(); // a machine with CUDA: nothing to fall back from
      expect(e.backend).to.equal('cpu');
      expect(e.reason).to.match(/cuda unavailable/);
    } finally {
      await e.dispose();
    }
  });
});
