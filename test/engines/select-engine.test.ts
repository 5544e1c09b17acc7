import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR_ENV } from '../../src/engines/onnx-cache.js';
import { createEngine, defaultThreads, resolveEngineKind } from '../../src/engines/select-engine.js';
import { EngineError, OptionError } from '../../src/errors.js';
import type { ConvLayer, SsdGraph } from '../../src/model/ssd-graph.js';
import { randomFloats } from '../helpers/arrays.js';

/**
 * A tiny SSD graph, so that engines load in milliseconds: input [N, 8, 8, 3] -> conv 3x3/2 ->
 * [N, 4, 4, 4] -> one head of 1 anchor per cell: box [N, 16, 4], classes [N, 16, 2].
 */
function tinyGraph(): SsdGraph {
  const conv = (name: string, input: string, kernel: number, stride: number, inC: number, outC: number, inHW: number, outHW: number, activation: ConvLayer['activation'], pads: ConvLayer['pads']): ConvLayer => ({
    name, input, kind: 'conv', kernel, stride, inChannels: inC, outChannels: outC,
    weights: randomFloats(kernel * kernel * inC * outC, outC * 7 + inC), bias: randomFloats(outC, outC), activation,
    inHeight: inHW, inWidth: inHW, outHeight: outHW, outWidth: outHW, pads,
  });
  return {
    inputHeight: 8,
    inputWidth: 8,
    layers: [
      conv('c0', 'input', 3, 2, 3, 4, 8, 4, 'relu6', [0, 0, 1, 1]),
      conv('box', 'c0', 1, 1, 4, 4, 4, 4, 'linear', [0, 0, 0, 0]),
      conv('cls', 'c0', 1, 1, 4, 2, 4, 4, 'linear', [0, 0, 0, 0]),
    ],
    heads: [{ boxLayer: 'box', classLayer: 'cls', anchorsPerCell: 1, height: 4, width: 4 }],
    numAnchors: 16,
    numClasses: 2,
  };
}

describe('engines/select-engine', function () {
  this.timeout(60_000);
  const graph = tinyGraph();
  let cacheDir: string;
  let savedCacheEnv: string | undefined;

  // createEngine caches generated ONNX models in the default place: point it at a temp dir.
  before(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-select-test-'));
    savedCacheEnv = process.env[CACHE_DIR_ENV];
    process.env[CACHE_DIR_ENV] = cacheDir;
  });
  after(async () => {
    if (savedCacheEnv === undefined) delete process.env[CACHE_DIR_ENV];
    else process.env[CACHE_DIR_ENV] = savedCacheEnv;
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  describe('resolveEngineKind', () => {
    it('--engine onnx wins without probing anything', async () => {
      expect(await resolveEngineKind({ engine: 'onnx' })).to.deep.equal({ kind: 'onnx', why: '--engine onnx', gpu: false });
      expect(await resolveEngineKind({ engine: 'onnx', backend: 'wasm' })).to.deep.equal({ kind: 'onnx', why: '--engine onnx', gpu: false });
    });

    it('--engine tfjs, or a tfjs backend with engine auto, picks tfjs saying why', async () => {
      expect(await resolveEngineKind({ engine: 'tfjs', backend: 'cpu' })).to.deep.equal({ kind: 'tfjs', why: '--engine tfjs', gpu: false });
      expect(await resolveEngineKind({ backend: 'wasm' })).to.deep.equal({ kind: 'tfjs', why: '--backend wasm implies the tfjs engine', gpu: false });
      expect(await resolveEngineKind({ engine: 'auto', backend: 'cpu' })).to.deep.equal({ kind: 'tfjs', why: '--backend cpu implies the tfjs engine', gpu: false });
    });

    it('auto without a usable GPU picks onnx, naming what it skipped', async function () {
      const pick = await resolveEngineKind({});
      if (pick.gpu) this.skip(); // a machine with tfjs-node-gpu and a GPU: TF.js is right there
      expect(pick.kind).to.equal('onnx');
      expect(pick.gpu).to.equal(false);
      expect(pick.why).to.match(/^auto: no usable GPU for tfjs \(tfjs-node-gpu: .+\); onnxruntime-node is the fastest CPU engine$/);
      expect(await resolveEngineKind({ engine: 'auto', backend: 'auto' })).to.deep.equal(pick);
    });
  });

  describe('createEngine', () => {
    it('checks the engine and threads options with the flag names', async () => {
      for (const [bad, flag] of [[{ engine: 'gpu' }, '--engine'], [{ threads: 0 }, '--threads'], [{ threads: 2.5 }, '--threads']] as const) {
        let err: unknown;
        await createEngine(graph, bad as never).catch((e: unknown) => { err = e; });
        expect(err, JSON.stringify(bad)).to.be.instanceOf(OptionError);
        expect((err as OptionError).message).to.match(new RegExp(`^option ${flag}: expected `));
      }
    });

    it('defaults threads to every core', () => {
      expect(defaultThreads()).to.equal(os.availableParallelism());
    });

    it('--engine onnx loads ONNX Runtime; the reason starts with why it was chosen, and the engine runs', async () => {
      const e = await createEngine(graph, { engine: 'onnx', threads: 1 });
      try {
        expect(e.kind).to.equal('onnx');
        expect(e.backend).to.equal('cpu');
        expect(e.reason).to.match(/^--engine onnx; .*1 thread/);
        const out = await e.run(randomFloats(2 * 8 * 8 * 3, 3), 2);
        expect(out.boxEncodings.length).to.equal(2 * 16 * 4);
        expect(out.classLogits.length).to.equal(2 * 16 * 2);
      } finally {
        await e.dispose();
      }
    });

    it('a tfjs backend loads the TF.js engine on it', async () => {
      const e = await createEngine(graph, { backend: 'cpu', threads: 1 });
      try {
        expect(e.kind).to.equal('tfjs');
        expect(e.backend).to.equal('cpu');
        expect(e.reason).to.match(/^--backend cpu implies the tfjs engine; /);
        expect((await e.run(randomFloats(8 * 8 * 3, 4), 1)).classLogits.length).to.equal(16 * 2);
      } finally {
        await e.dispose();
      }
    });

    it('uses a pick made beforehand instead of deciding again', async () => {
      const e = await createEngine(graph, { engine: 'auto', threads: 1, warmupBatch: 0 }, { kind: 'onnx', why: 'decided on the main thread', gpu: false });
      try {
        expect(e.kind).to.equal('onnx');
        expect(e.reason).to.match(/^decided on the main thread; /);
      } finally {
        await e.dispose();
      }
    });

    it('a load failure under auto is an EngineError with the cause; an explicit choice fails with the cause itself', async () => {
      // A layer reading a map that does not exist: the ONNX builder refuses the graph.
      const broken: SsdGraph = { ...graph, layers: graph.layers.map((l) => (l.name === 'box' ? { ...l, input: 'nowhere' } : l)) };
      // createEngine imports the engines with import(): under mocha + tsx that is a second (ESM)
      // copy of src/ beside the CommonJS one this file was loaded as, so compare with its classes.
      const { ModelError } = await import('../../src/errors.js');
      const pick = { kind: 'onnx', why: 'test', gpu: false } as const;
      let err: unknown;
      await createEngine(broken, { engine: 'auto', threads: 1 }, pick).catch((e: unknown) => { err = e; });
      expect(err).to.be.instanceOf(EngineError);
      expect((err as EngineError).message).to.equal('no inference engine could be loaded');
      expect((err as EngineError).hint).to.match(/ssdpipe doctor/);
      expect((err as EngineError).cause).to.be.instanceOf(ModelError);
      expect(((err as EngineError).cause as Error).message).to.match(/nowhere/);

      err = undefined;
      await createEngine(broken, { engine: 'onnx', threads: 1 }).catch((e: unknown) => { err = e; });
      expect(err).to.be.instanceOf(ModelError);
      expect((err as Error).message).to.match(/nowhere/);
    });
  });
});
