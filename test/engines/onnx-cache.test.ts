import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadOrBuildOnnxModel, onnxCacheDir, onnxCacheKey, pruneOnnxCache } from '../../src/engines/onnx-cache.js';
import { createOnnxEngine, type OnnxEngine } from '../../src/engines/onnx.js';
import { buildOnnxModel, DEFAULT_ONNX_OPSET } from '../../src/onnx/onnx-graph.js';
import { loadModel } from '../../src/model-io/load-model.js';
import type { ConvLayer, SsdGraph } from '../../src/model/ssd-graph.js';
import { maxAbsDiff, randomFrames } from '../helpers/arrays.js';

const DAY = 24 * 3600_000;

describe('engines/onnx-cache', function () {
  this.timeout(60_000);
  let graph: SsdGraph;
  let cacheDir: string;
  /** The engine that wrote the cache entry (a fresh, empty cache dir): the cache's main user. */
  let engine: OnnxEngine;

  before(async () => {
    graph = (await loadModel('face')).graph;
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-onnx-cache-test-'));
    engine = await createOnnxEngine(graph, { threads: 2, cacheDir });
  });

  after(async () => {
    await engine?.dispose();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

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
    expect(r.note).to.match(/^cache not written \(ENOTDIR.*\): built in memory, not cached$/);
    const off = await loadOrBuildOnnxModel(graph, { inputLayout: 'nhwc' }, { cacheDir: null });
    expect(off.path).to.equal(undefined);
    expect(off.note).to.equal('disabled');
    expect(Buffer.from(off.bytes).equals(Buffer.from(r.bytes))).to.equal(true);
  });

  it('keys the cache on weights, attributes, layout and opset', () => {
    const key = onnxCacheKey(graph, { inputLayout: 'nhwc' });
    expect(key).to.match(/^[0-9a-f]{64}$/);
    expect(onnxCacheKey(graph, { inputLayout: 'nhwc', opset: DEFAULT_ONNX_OPSET })).to.equal(key);
    expect(onnxCacheKey(graph, { inputLayout: 'nchw' })).to.not.equal(key);
    expect(onnxCacheKey(graph, { inputLayout: 'nhwc', opset: DEFAULT_ONNX_OPSET + 1 })).to.not.equal(key);
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

  it('keys the cache on a conv\'s dilation and clip, keeping the keys of layers without them', () => {
    const conv = (extra: Partial<ConvLayer> = {}): ConvLayer => ({
      name: 'c1', input: 'input', kind: 'conv', kernel: 3, stride: 1, inChannels: 3, outChannels: 2,
      weights: Float32Array.from({ length: 54 }, (_, i) => i / 54), bias: Float32Array.of(0.5, -0.5), activation: 'relu6',
      inHeight: 8, inWidth: 8, outHeight: 8, outWidth: 8, pads: [1, 1, 1, 1], ...extra,
    });
    const key = (l: ConvLayer): string => onnxCacheKey({
      inputHeight: 8, inputWidth: 8, layers: [l], heads: [{ boxLayer: 'c1', classLayer: 'c1', anchorsPerCell: 1, height: 8, width: 8 }],
      numAnchors: 64, numClasses: 2,
    }, { inputLayout: 'nhwc' });
    // Golden keys from before dilation was keyed: cache files written then are still found.
    const plain = 'e6fc9e0a3885f03db0acf988ce159abb3261c0f0cdb42ced1fca45d91da4e9b8';
    const clipped = '888fce9b96ff06da8fe4d7e8849ff3231181ad349b62a1eb105652e8942e05ea';
    expect(key(conv())).to.equal(plain);
    expect(key(conv({ clip: [0, 6] }))).to.equal(clipped);
    expect(key(conv({ dilation: 1 })), 'dilation 1 is no dilation').to.equal(plain);
    const dilated = key(conv({ dilation: 2, pads: [2, 2, 2, 2] }));
    expect(key(conv({ dilation: 2 }))).to.not.equal(plain);
    expect(dilated).to.not.equal(key(conv({ pads: [2, 2, 2, 2] })));
    expect(key(conv({ dilation: 2 }))).to.not.equal(key(conv({ dilation: 3 })));
    expect(key(conv({ dilation: 2, clip: [0, 6] }))).to.not.equal(clipped).and.not.equal(key(conv({ dilation: 2 })));
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
