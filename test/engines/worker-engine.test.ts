import { expect } from 'chai';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import { createWorkerEngine } from '../../src/engines/worker-engine.js';
import type { Engine } from '../../src/engines/engine.js';
import { loadModel, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { SsdpipeError } from '../../src/errors.js';
import { maxAbsDiff, randomFrames } from '../helpers/arrays.js';

/** Counts timer ticks that fire while `work` runs: 0 means the event loop was blocked. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const t = setInterval(() => ticks++, 1);
  await work();
  clearInterval(t);
  return ticks;
}

describe('createWorkerEngine (onnx in a worker thread)', function () {
  this.timeout(60_000);
  let worker: Engine;
  let local: Engine;

  before(async () => {
    worker = await createWorkerEngine(resolveDescriptorPath('face'), { engine: 'onnx', threads: 2 });
    local = await createOnnxEngine((await loadModel('face')).graph, { threads: 2 });
  });
  after(async () => {
    await worker?.dispose();
    await local?.dispose();
  });

  it('gives the same outputs as the engine on the main thread', async () => {
    const input = randomFrames(2, 7);
    const expected = await local.run(input.slice(), 2);
    const got = await worker.run(input, 2);
    expect(worker.kind).to.equal('onnx');
    expect(worker.reason).to.match(/worker thread/);
    expect(got.batch).to.equal(2);
    expect(got.boxEncodings.length).to.equal(2 * 5118 * 4);
    expect(got.classLogits.length).to.equal(2 * 5118 * 3);
    expect(maxAbsDiff(got.classLogits, expected.classLogits)).to.equal(0);
    expect(maxAbsDiff(got.boxEncodings, expected.boxEncodings)).to.equal(0);
  });

  it('leaves the event loop free while the model runs (the main-thread engine blocks it)', async () => {
    const onMain = await ticksDuring(() => local.run(randomFrames(4, 7), 4));
    const inWorker = await ticksDuring(() => worker.run(randomFrames(4, 7), 4));
    expect(onMain).to.be.at.most(2);
    expect(inWorker).to.be.at.least(10);
  });

  it('passes errors back with their code', async () => {
    try {
      await worker.run(new Float32Array(10), 1);
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).to.be.instanceOf(SsdpipeError);
      expect((err as SsdpipeError).code).to.equal('E_ENGINE');
    }
    try {
      await createWorkerEngine('/nonexistent/model.json', { engine: 'onnx' });
      expect.fail('should have thrown');
    } catch (err) {
      expect((err as SsdpipeError).code).to.equal('E_MODEL');
    }
  });

  it('queues runs posted before the previous one finished, answers them in order, and hands the input back', async () => {
    expect(worker.queuesRuns).to.equal(true);
    const inputs = [randomFrames(1, 1), randomFrames(1, 2), randomFrames(1, 3)];
    const expected = await Promise.all(inputs.map((x) => local.run(x.slice(), 1)));
    const sent = inputs.map((x) => x.slice());
    const got = await Promise.all(sent.map((x) => worker.run(x, 1)));
    got.forEach((g, i) => {
      expect(maxAbsDiff(g.classLogits, expected[i].classLogits), `run ${i}`).to.equal(0);
      expect(sent[i].byteLength, 'the input was moved to the worker').to.equal(0);
      expect(maxAbsDiff(g.input!, inputs[i]), 'and came back intact').to.equal(0);
    });
  });

  it('dispose waits for runs already posted (no native crash), then ends the worker', async () => {
    const w = await createWorkerEngine(resolveDescriptorPath('face'), { engine: 'onnx', threads: 1 });
    const runs = [w.run(randomFrames(1, 4), 1), w.run(randomFrames(1, 5), 1)];
    await w.dispose();
    const settled = await Promise.allSettled(runs);
    expect(settled.map((s) => s.status)).to.deep.equal(['fulfilled', 'fulfilled']);
  });

  it('dispose ends the worker; later runs fail clearly', async () => {
    const w = await createWorkerEngine(resolveDescriptorPath('face'), { engine: 'onnx', threads: 1 });
    await w.dispose();
    await w.dispose();
    try {
      await w.run(randomFrames(1, 7), 1);
      expect.fail('should have thrown');
    } catch (err) {
      expect((err as SsdpipeError).code).to.equal('E_ENGINE');
    }
  });
});
