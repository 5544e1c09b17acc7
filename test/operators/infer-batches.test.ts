import { expect } from 'chai';
import { OptionError } from '../../src/errors.js';
import { Subject, lastValueFrom, toArray } from 'rxjs';
import type { FrameDetections } from '../../src/detection.js';
import type { Frame } from '../../src/frame.js';
import type { PreparedBatch } from '../../src/inference/detector.js';
import { inferBatches, type BatchInferrer } from '../../src/operators/infer-batches.js';

const frame = (seq: number): Frame => ({ source: 't', seq, ptsMs: seq * 40, width: 2, height: 2, data: new Uint8Array(12) });
const batchOf = (...seqs: number[]): PreparedBatch => ({ frames: seqs.map(frame), input: new Float32Array(0), geometries: [], preprocessMs: 0 });
const result = (f: Frame): FrameDetections => ({ frame: f, detections: [], timings: { inference: 1 } });

/** A detector whose runs resolve when the test says so; it logs starts and emissions. */
function manualDetector(log: string[]) {
  const runs: { batch: PreparedBatch; resolve: () => void; reject: (e: Error) => void }[] = [];
  const detector: BatchInferrer = {
    infer(batch) {
      log.push(`start ${batch.frames.map((f) => f.seq).join(',')}`);
      return new Promise<FrameDetections[]>((resolve, reject) => {
        runs.push({ batch, resolve: () => resolve(batch.frames.map(result)), reject });
      });
    },
  };
  return { detector, runs };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('inferBatches', () => {
  it('splits batches into frames, in order, and completes after the last batch', async () => {
    const detector: BatchInferrer = { infer: async (b) => b.frames.map(result) };
    const src = new Subject<PreparedBatch>();
    const out = lastValueFrom(src.pipe(inferBatches(detector), toArray()));
    src.next(batchOf(0, 1));
    src.next(batchOf(2));
    src.next(batchOf(3, 4, 5));
    src.complete();
    expect((await out).map((fd) => fd.frame.seq)).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it('depth 1: one batch at a time, and the next starts before the results go downstream', async () => {
    const src = new Subject<PreparedBatch>();
    const log: string[] = [];
    const { detector, runs } = manualDetector(log);
    src.pipe(inferBatches(detector)).subscribe({ next: (fd) => log.push(`emit ${fd.frame.seq}`), complete: () => log.push('complete') });
    src.next(batchOf(0));
    src.next(batchOf(1));
    src.complete();
    await tick();
    expect(log).to.deep.equal(['start 0']);
    runs[0].resolve();
    await tick();
    expect(log).to.deep.equal(['start 0', 'start 1', 'emit 0']);
    runs[1].resolve();
    await tick();
    expect(log).to.deep.equal(['start 0', 'start 1', 'emit 0', 'emit 1', 'complete']);
  });

  it('depth 2: keeps one batch waiting in the engine, never more', async () => {
    const log: string[] = [];
    const { detector, runs } = manualDetector(log);
    const src = new Subject<PreparedBatch>();
    src.pipe(inferBatches(detector, { depth: 2 })).subscribe({ next: (fd) => log.push(`emit ${fd.frame.seq}`), complete: () => log.push('complete') });
    for (let i = 0; i < 4; i++) src.next(batchOf(i));
    src.complete();
    await tick();
    expect(log).to.deep.equal(['start 0', 'start 1']);
    runs[1].resolve(); // finishing out of order does not reorder the output
    await tick();
    expect(log).to.deep.equal(['start 0', 'start 1']);
    runs[0].resolve();
    await tick();
    expect(log).to.deep.equal(['start 0', 'start 1', 'start 2', 'emit 0', 'start 3', 'emit 1']);
    runs[2].resolve();
    runs[3].resolve();
    await tick();
    expect(log.slice(-3)).to.deep.equal(['emit 2', 'emit 3', 'complete']);
  });

  it('passes a failed batch on as the error, without emitting later results', async () => {
    const log: string[] = [];
    const { detector, runs } = manualDetector(log);
    const src = new Subject<PreparedBatch>();
    let failure: Error | null = null;
    src.pipe(inferBatches(detector, { depth: 2 })).subscribe({ next: (fd) => log.push(`emit ${fd.frame.seq}`), error: (e: Error) => (failure = e) });
    src.next(batchOf(0));
    src.next(batchOf(1));
    runs[1].resolve();
    runs[0].reject(new Error('engine died'));
    await tick();
    expect(failure).to.be.instanceOf(Error).with.property('message', 'engine died');
    expect(log).to.deep.equal(['start 0', 'start 1']);
  });

  it('rejects a depth below 1', () => {
    expect(() => inferBatches({ infer: async () => [] }, { depth: 0 })).to.throw(OptionError, /depth/);
  });
});
