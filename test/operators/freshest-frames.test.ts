import { expect } from 'chai';
import { interval, map, merge, NEVER, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { SsdpipeError } from '../../src/errors.js';
import { freshestFrames } from '../../src/operators/freshest-frames.js';

/** A stand-in for a Frame (or a status record when `status` is set). */
interface Item {
  source: string;
  n: number;
  status?: boolean;
}

const f = (source: string, n: number): Item => ({ source, n });

describe('freshestFrames', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('while the consumer is busy keeps only the freshest frame, and reports the dropped ones', () => {
    const dropped: Item[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const frames = { a: f('A', 1), b: f('A', 2), c: f('A', 3) };
      const src = cold('abc---|', frames);
      const ready = cold('----x', { x: 1 });
      const out = src.pipe(freshestFrames<Item>({ ready$: ready, initialCredits: 0, onDrop: (d) => dropped.push(d), scheduler }));
      expectObservable(out).toBe('----c-|', frames);
    });
    expect(dropped).to.deep.equal([f('A', 1), f('A', 2)]);
  });

  it('a frame goes straight through when a credit is waiting', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const frames = { a: f('A', 1), b: f('A', 2), c: f('A', 3) };
      const src = cold('a--b--c|', frames);
      const ready = cold('-x--x--', { x: 1 });
      // a uses the initial credit, b the one given at 1, c the one given at 4.
      expectObservable(src.pipe(freshestFrames<Item>({ ready$: ready, scheduler }))).toBe('a--b--c|', frames);
    });
  });

  it('serves sources round-robin', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const frames = { a: f('A', 1), b: f('B', 1), c: f('C', 1), d: f('D', 1), e: f('A', 2), g: f('B', 2) };
      // Four sources have a frame waiting; A and B send another before their turn comes round again.
      const src = cold('(abcd)--(eg)', frames);
      const ready = cold('-x-x-x-x-x-x', { x: 1 });
      expectObservable(src.pipe(freshestFrames<Item>({ ready$: ready, initialCredits: 0, scheduler }))).toBe('-a-b-c-d-e-g', frames);
    });
  });

  it('shares the engine fairly: 4 cameras at 25 fps, capacity 20 frames/s, about 5 each', () => {
    const sent = new Map<string, number>();
    const dropped = new Map<string, number>();
    scheduler.run(() => {
      // Each camera sends a frame every 40 ms, the cameras 10 ms apart; a credit every 50 ms.
      const cameras = ['A', 'B', 'C', 'D'].map((id, k) => timer(k * 10, 40).pipe(map((n) => f(id, n))));
      const ready = interval(50).pipe(map(() => 1));
      merge(...cameras)
        .pipe(
          freshestFrames<Item>({ ready$: ready, initialCredits: 0, onDrop: (d) => dropped.set(d.source, (dropped.get(d.source) ?? 0) + 1), scheduler }),
          take(200), // 10 s of credits
        )
        .subscribe((item) => sent.set(item.source, (sent.get(item.source) ?? 0) + 1));
    });
    expect([...sent.keys()].sort()).to.deep.equal(['A', 'B', 'C', 'D']);
    for (const [id, n] of sent) expect(n, `frames sent for ${id}`).to.be.within(49, 51); // 5 per second for 10 s
    for (const [id, n] of dropped) expect(n, `frames dropped for ${id}`).to.be.within(195, 202); // 250 made, ~50 sent
  });

  it('caps the frames per second of each source', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const letters = 'abcdefghijklmnopqrstu';
      const frames = Object.fromEntries([...letters].map((l, i) => [l, f('A', i)]));
      const src = cold(`${letters}|`, frames); // a frame every 1 ms
      // 100 fps: one frame per 10 ms, always the freshest at that moment.
      expectObservable(src.pipe(freshestFrames<Item>({ ready$: NEVER, initialCredits: 1000, maxFps: 100, scheduler })))
        .toBe('a 9ms k 9ms u|', frames);
    });
  });

  it('the fps cap of one source does not hold back another', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const frames = { a: f('A', 1), b: f('A', 2), x: f('B', 1), y: f('B', 2) };
      const src = cold('a-b-x-y', frames);
      expectObservable(src.pipe(freshestFrames<Item>({ ready$: NEVER, initialCredits: 100, maxFps: 200, scheduler })))
        .toBe('a---xb---y', frames); // at 200 fps each source waits 5 ms after its last frame: b until 5, y until 9
    });
  });

  it('passes status items through at once, without using credit', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const items = { s: { source: 'A', n: 0, status: true }, a: f('A', 1), t: { source: 'A', n: 2, status: true } };
      const src = cold('sat--', items);
      const ready = cold('----x', { x: 1 });
      expectObservable(src.pipe(freshestFrames<Item>({ ready$: ready, initialCredits: 0, passThrough: (i) => i.status === true, scheduler })))
        .toBe('s-t-a', items);
    });
  });

  it('flushes pending frames as credits come after the source completes; errors pass through', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const frames = { a: f('A', 1), b: f('A', 2), x: f('B', 1) };
      expectObservable(cold('abx|', frames).pipe(freshestFrames<Item>({ ready$: cold('----y--y', { y: 1 }), initialCredits: 0, scheduler })))
        .toBe('----b--(x|)', frames);
      expectObservable(cold('a-#', frames).pipe(freshestFrames<Item>({ ready$: NEVER, initialCredits: 0, scheduler }))).toBe('--#');
      expectObservable(cold('a---', frames).pipe(freshestFrames<Item>({ ready$: cold('-#'), initialCredits: 0, scheduler }))).toBe('-#');
    });
  });

  it('unsubscribing drops the pending fps timer and the credit subscription', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const frames = { a: f('A', 1), b: f('A', 2) };
      const ready = cold('x-x-x-x', { x: 1 });
      expectObservable(cold('ab----', frames).pipe(freshestFrames<Item>({ ready$: ready, maxFps: 250, scheduler })), '^--!').toBe('a--', frames);
      expectSubscriptions(ready.subscriptions).toBe('^--!');
    });
  });

  it('rejects bad options when built', () => {
    expect(() => freshestFrames({ ready$: NEVER, maxFps: 0 })).to.throw(SsdpipeError, /--fps/);
    expect(() => freshestFrames({ ready$: NEVER, initialCredits: -1 })).to.throw(SsdpipeError, /initialCredits/);
  });
});
