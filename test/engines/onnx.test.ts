import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { EngineError, OptionError } from '../../src/errors.js';
import { loadOrBuildOnnxModel, onnxCacheDir, onnxCacheKey, pruneOnnxCache } from '../../src/engines/onnx-cache.js';
import { buildOnnxModel } from '../../src/onnx/onnx-graph.js';
import { createOnnxEngine, cudaProviderInstalled, onnxRuntimeAvailable, type OnnxEngine } from '../../src/engines/onnx.js';
import { loadModel } from '../../src/model-io/load-model.js';
import type { SsdGraph } from '../../src/model/ssd-graph.js';
import { FACE_FRAME, maxAbsDiff, randomFrames } from '../helpers/arrays.js';

const FACE_API_DEMO = path.resolve('node_modules/@vladmandic/face-api/demo');
const FRAME = FACE_FRAME;
const DAY = 24 * 3600_000;

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

  describe('model cache', () => {
    it('writes the generated model to the cache and reuses it on the next load', async () => {
      expect(engine.cacheHit).to.equal(false);
      expect(engine.modelPath).to.be.a('string');
      expect(path.dirname(engine.modelPath!)).to.equal(cacheDir);
      const before = await stat(engine.modelPath!);
      expect(before.size).to.be.above(5_000_000);

      const second = await createOnnxEngine(graph, { threads: 2, cacheDir });
      try {
        expect(second.cacheHit).to.equal(true);
        expect(second.modelPath).to.equal(engine.modelPath);
        expect(second.reason).to.match(/cached model/);
        const after = await stat(engine.modelPath!);
        expect(after.mtimeMs).to.equal(before.mtimeMs);
        const input = randomFrames(1, 3);
        const [a, b] = [await engine.run(input, 1), await second.run(input, 1)];
        expect(maxAbsDiff(a.boxEncodings, b.boxEncodings)).to.equal(0);
        expect(maxAbsDiff(a.classLogits, b.classLogits)).to.equal(0);
      } finally {
        await second.dispose();
      }
    });

    it('rebuilds a truncated or corrupted cache file instead of failing', async () => {
      const file = engine.modelPath!;
      const good = await readFile(file);
      const input = randomFrames(1, 5);
      const expected = await engine.run(input, 1);

      await truncate(file, Math.floor(good.length / 2));
      const e1 = await createOnnxEngine(graph, { threads: 1, cacheDir, warmupBatch: 0 });
      try {
        expect(e1.cacheHit).to.equal(false);
        expect(maxAbsDiff((await e1.run(input, 1)).classLogits, expected.classLogits)).to.equal(0);
      } finally {
        await e1.dispose();
      }
      expect((await readFile(file)).equals(good)).to.equal(true);

      // Same length, one weight byte flipped: only a content check catches this.
      const flipped = Buffer.from(good);
      flipped[good.length - 1000] ^= 0xff;
      await writeFile(file, flipped);
      const e2 = await createOnnxEngine(graph, { threads: 1, cacheDir, warmupBatch: 0 });
      try {
        expect(e2.cacheHit).to.equal(false);
      } finally {
        await e2.dispose();
      }
      expect((await readFile(file)).equals(good)).to.equal(true);
    });

    it('recovers from a missing checksum file and from garbage in the model file', async () => {
      const file = engine.modelPath!;
      await rm(`${file}.sha256`);
      const r1 = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir });
      expect(r1.hit).to.equal(false);
      expect(r1.note).to.equal('missing');
      await writeFile(file, 'not a model');
      const r2 = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir });
      expect(r2.hit).to.equal(false);
      expect(r2.note).to.equal('corrupt');
      const r3 = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir });
      expect(r3.hit).to.equal(true);
      expect(Buffer.from(r3.bytes).equals(Buffer.from(r2.bytes))).to.equal(true);
    });

    it('still works when the cache directory cannot be written, and with the cache off', async () => {
      const blocker = path.join(cacheDir, 'a-file');
      await writeFile(blocker, 'x');
      const r = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir: path.join(blocker, 'sub') });
      expect(r.hit).to.equal(false);
      expect(r.path).to.equal(undefined);
      expect(r.note).to.match(/cache not written/);
      const off = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir: null });
      expect(off.path).to.equal(undefined);
      expect(off.note).to.equal('disabled');
      expect(Buffer.from(off.bytes).equals(Buffer.from(r.bytes))).to.equal(true);
    });

    it('keys the cache on weights, attributes, layout and opset', () => {
      const key = onnxCacheKey(graph, { inputLayout: 'nhwc' });
      expect(key).to.match(/^[0-9a-f]{64}$/);
      expect(onnxCacheKey(graph, { inputLayout: 'nhwc', opset: 13 })).to.equal(key);
      expect(onnxCacheKey(graph, { inputLayout: 'nchw' })).to.not.equal(key);
      expect(onnxCacheKey(graph, { inputLayout: 'nhwc', opset: 12 })).to.not.equal(key);
      const last = graph.layers.length - 1;
      const tweakW = graph.layers.map((l, i) => (i === last ? { ...l, weights: l.weights.map((v, j) => (j === 5 ? v + 1e-6 : v)) } : l));
      expect(onnxCacheKey({ ...graph, layers: tweakW }, { inputLayout: 'nhwc' })).to.not.equal(key);
      const tweakB = graph.layers.map((l, i) => (i === 0 ? { ...l, bias: l.bias.map((v, j) => (j === 0 ? v + 1e-6 : v)) } : l));
      expect(onnxCacheKey({ ...graph, layers: tweakB }, { inputLayout: 'nhwc' })).to.not.equal(key);
      const tweakAct = graph.layers.map((l, i) => (i === 3 ? { ...l, activation: 'linear' as const } : l));
      expect(onnxCacheKey({ ...graph, layers: tweakAct }, { inputLayout: 'nhwc' })).to.not.equal(key);
      // The cached bytes are exactly what the builder makes.
      expect(buildOnnxModel(graph, { inputLayout: 'nhwc' }).length).to.be.above(5_000_000);
    });

    it('puts the cache under SSDPIPE_CACHE_DIR when set, else the user cache dir', () => {
      expect(onnxCacheDir({ SSDPIPE_CACHE_DIR: '/some/where' })).to.equal(path.resolve('/some/where/onnx'));
      expect(onnxCacheDir({})).to.match(/ssdpipe[\\/]+onnx$/);
      expect(onnxCacheDir({})).to.not.match(/nodejs/);
    });

    it('marks a cached model as used on a hit (the time of its checksum file), leaving the model file alone', async () => {
      const file = engine.modelPath!;
      const sumFile = `${file}.sha256`;
      const longAgo = new Date(Date.now() - 40 * DAY);
      await utimes(sumFile, longAgo, longAgo);
      const model = await stat(file);
      const r = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir });
      expect(r.hit).to.equal(true);
      expect(Date.now() - (await stat(sumFile)).mtimeMs).to.be.below(60_000);
      expect((await stat(file)).mtimeMs).to.equal(model.mtimeMs);
    });

    it('pruneOnnxCache removes models unused for 30 days, orphaned checksums and stale temp files, nothing else', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-prune-'));
      try {
        const now = Date.now();
        const model = (c: string): string => `ssd-${c.repeat(32)}.onnx`;
        const put = async (name: string, ageMs: number): Promise<void> => {
          await writeFile(path.join(dir, name), 'x');
          const t = new Date(now - ageMs);
          await utimes(path.join(dir, name), t, t);
        };
        await put(model('a'), 40 * DAY); // unused for 40 days: goes, with its checksum
        await put(`${model('a')}.sha256`, 40 * DAY);
        await put(model('b'), 40 * DAY); // written 40 days ago, used 10 days ago: stays
        await put(`${model('b')}.sha256`, 10 * DAY);
        await put(model('1'), 40 * DAY); // no checksum: its own time counts, goes
        await put(model('c'), 40 * DAY); // old but the one just written: stays
        await put(`${model('d')}.sha256`, 2 * 3600_000); // checksum without its model: goes
        await put(`.${model('e')}.123.0badf00d.tmp`, 2 * 3600_000); // left by a crashed write: goes
        await put(`.${model('f')}.456.0badf00d.tmp`, 60_000); // a write in progress: stays
        await put('notes.txt', 400 * DAY); // not ours: stays
        const removed = await pruneOnnxCache(dir, { now, keep: [model('c')] });
        expect(removed.sort()).to.deep.equal([`.${model('e')}.123.0badf00d.tmp`, model('a'), `${model('a')}.sha256`, `${model('d')}.sha256`, model('1')].sort());
        expect((await readdir(dir)).sort()).to.deep.equal(
          [`.${model('f')}.456.0badf00d.tmp`, model('b'), `${model('b')}.sha256`, model('c'), 'notes.txt'].sort(),
        );
        expect(await pruneOnnxCache(path.join(dir, 'missing'))).to.deep.equal([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('writing a new model prunes the unused ones', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-prune-'));
      try {
        const stale = `ssd-${'0'.repeat(32)}.onnx`;
        await writeFile(path.join(dir, stale), 'an old model');
        const t = new Date(Date.now() - 31 * DAY);
        await utimes(path.join(dir, stale), t, t);
        const r = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir: dir });
        expect(r.hit).to.equal(false);
        expect(await readdir(dir)).to.deep.equal([path.basename(r.path!), `${path.basename(r.path!)}.sha256`]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
