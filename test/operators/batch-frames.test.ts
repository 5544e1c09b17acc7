import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { batchFrames } from '../../src/operators/batch-frames.js';
import { SsdpipeError } from '../../src/errors.js';

describe('batchFrames', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('emits full batches as soon as they are full', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('abcdef|');
      expectObservable(src.pipe(batchFrames({ size: 2, maxWaitMs: 100, scheduler }))).toBe('-x-y-z|', {
        x: ['a', 'b'],
        y: ['c', 'd'],
        z: ['e', 'f'],
      });
    });
  });

  it('emits a partial batch maxWaitMs after its first item', () => {
    scheduler.run(({ cold, expectObservable }) => {
      // a at 0, b at 3: the timer started at 0 fires at 10.
      const src = cold('a--b------------c|');
      expectObservable(src.pipe(batchFrames({ size: 4, maxWaitMs: 10, scheduler }))).toBe('----------x------(y|)', {
        x: ['a', 'b'],
        y: ['c'],
      });
    });
  });

  it('restarts the timer with the next batch, and emits nothing while idle', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('a 20ms b 50ms |');
      expectObservable(src.pipe(batchFrames({ size: 8, maxWaitMs: 5, scheduler }))).toBe('5ms x 20ms y 45ms |', {
        x: ['a'],
        y: ['b'],
      });
    });
  });

  it('flushes the partial batch on complete', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('abc|');
      expectObservable(src.pipe(batchFrames({ size: 2, maxWaitMs: 1000, scheduler }))).toBe('-x-(y|)', {
        x: ['a', 'b'],
        y: ['c'],
      });
    });
  });

  it('passes errors through and drops the pending timer', () => {
    scheduler.run(({ cold, expectObservable }) => {
      // a's batch goes out at 2; b's is pending when the error arrives at 4 and is dropped.
      const src = cold('a--b#');
      expectObservable(src.pipe(batchFrames({ size: 4, maxWaitMs: 2, scheduler }))).toBe('--x-#', { x: ['a'] });
    });
  });

  it('with maxWaitMs 0 every item goes out alone unless the batch fills at once', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('a-b|');
      expectObservable(src.pipe(batchFrames({ size: 3, maxWaitMs: 0, scheduler }))).toBe('x-y|', { x: ['a'], y: ['b'] });
    });
  });

  it('unsubscribing cancels the pending timer', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const src = cold('a------');
      expectObservable(src.pipe(batchFrames({ size: 4, maxWaitMs: 5, scheduler })), '^--!').toBe('---');
    });
  });

  it('rejects bad options when built, not per item', () => {
    expect(() => batchFrames({ size: 0, maxWaitMs: 1 })).to.throw(SsdpipeError, /--batch/);
    expect(() => batchFrames({ size: 2.5, maxWaitMs: 1 })).to.throw(SsdpipeError);
    expect(() => batchFrames({ size: 2, maxWaitMs: -1 })).to.throw(SsdpipeError, /--max-wait-ms/);
  });
});
