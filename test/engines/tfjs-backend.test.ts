import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import { EngineError, OptionError } from '../../src/errors.js';
import {
  describeTfjsBackends,
  gpuTfjsAvailable,
  selectTfjsBackend,
  type TfjsBackendRequest,
} from '../../src/engines/tfjs-backend.js';

// These tests describe this machine: the optional native packages (@tensorflow/tfjs-node and
// -gpu) are not installed, the wasm and cpu backends are.
describe('engines/tfjs-backend', function () {
  this.timeout(30_000);

  after(async () => {
    // Leave the process on the backend the other engine tests expect.
    await selectTfjsBackend('wasm');
  });

  it('auto picks wasm (SIMD) and says why the node packages were skipped', async () => {
    const sel = await selectTfjsBackend('auto');
    expect(sel.backend).to.equal('wasm');
    expect(sel.gpu).to.equal(false);
    expect(sel.reason).to.include('tfjs-node-gpu: not installed');
    expect(sel.reason).to.include('tfjs-node: not installed');
    expect(sel.reason).to.include('SIMD');
    expect(tf.getBackend()).to.equal('wasm');
  });

  it('hands out the one shared tfjs-core: tensors made through it are this test\'s tensors', async () => {
    const sel = await selectTfjsBackend('wasm');
    const t = sel.tf.tensor1d([1, 2, 3]);
    try {
      expect(t).to.be.instanceOf(tf.Tensor);
      expect(sel.tf.engine()).to.equal(tf.engine());
      expect(Array.from(await tf.mul(t, 2).data())).to.deep.equal([2, 4, 6]);
    } finally {
      t.dispose();
    }
  });

  it('wasm computes a convolution correctly (the binary was found on disk and initialized)', async () => {
    const sel = await selectTfjsBackend('wasm');
    // 3x3 input, 2x2 kernel of ones, valid: sums of 2x2 windows.
    const out = sel.tf.tidy(() =>
      sel.tf.conv2d(sel.tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]), sel.tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid'),
    );
    try {
      expect(Array.from(await out.data())).to.deep.equal([12, 16, 24, 28]);
    } finally {
      out.dispose();
    }
  });

  it('an explicit cpu request activates the cpu backend', async () => {
    const sel = await selectTfjsBackend('cpu');
    expect(sel.backend).to.equal('cpu');
    expect(sel.gpu).to.equal(false);
    expect(tf.getBackend()).to.equal('cpu');
    const y = tf.tidy(() => tf.relu6(tf.tensor1d([-1, 3, 9])));
    try {
      expect(Array.from(await y.data())).to.deep.equal([0, 3, 6]);
    } finally {
      y.dispose();
    }
  });

  it('an explicit tensorflow request fails with an EngineError and an install hint', async () => {
    const before = tf.getBackend();
    let err: unknown;
    try {
      await selectTfjsBackend('tensorflow');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(EngineError);
    const e = err as EngineError;
    expect(e.code).to.equal('E_ENGINE');
    expect(e.message).to.include('tfjs-node: not installed');
    expect(e.hint).to.match(/npm install @tensorflow\/tfjs-node/);
    expect(tf.getBackend()).to.equal(before);
  });

  it('rejects an unknown backend name as a bad option', async () => {
    let err: unknown;
    try {
      await selectTfjsBackend('webgl' as TfjsBackendRequest);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OptionError);
    expect((err as OptionError).message).to.include('"webgl"');
  });

  it('describeTfjsBackends lists all four candidates without switching the active backend', async () => {
    await selectTfjsBackend('cpu');
    const list = await describeTfjsBackends();
    expect(tf.getBackend()).to.equal('cpu');
    expect(list.map((s) => s.name)).to.deep.equal(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']);
    const byName = new Map(list.map((s) => [s.name, s]));
    for (const name of ['tfjs-node-gpu', 'tfjs-node'] as const) {
      const s = byName.get(name)!;
      expect(s.available).to.equal(false);
      expect(s.backend).to.equal('tensorflow');
      expect(s.reason).to.equal('not installed');
      expect(s.hint).to.include('npm install');
    }
    expect(byName.get('wasm')).to.include({ available: true, backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm' });
    expect(byName.get('wasm')!.reason).to.match(/SIMD, \d+ threads?/);
    expect(byName.get('cpu')).to.include({ available: true, backend: 'cpu' });
  });

  it('gpuTfjsAvailable is false here and says why', async () => {
    const gpu = await gpuTfjsAvailable();
    expect(gpu.ok).to.equal(false);
    expect(gpu.reason).to.equal('tfjs-node-gpu: not installed');
  });
});
