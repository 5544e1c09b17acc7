import { expect } from 'chai';
import { from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Detection, FrameDetections } from '../../src/detection.js';
import { SsdpipeError } from '../../src/errors.js';
import { trackObjects } from '../../src/operators/track-objects.js';
import { isTrackRecord, type TrackRecord } from '../../src/tracking/track-record.js';

function fd(source: string, seq: number, boxes: number[][], width = 640, height = 480, ptsMs = seq * 40): FrameDetections {
  const detections: Detection[] = boxes.map(([x, y]) => ({ classId: 0, label: 'face', score: 0.9, box: [x, y, x + 0.1, y + 0.1], trackId: null }));
  return { frame: { source, seq, ptsMs, width, height, data: new Uint8Array(0) }, detections, timings: {} };
}

/** Each item as a short string: `src#seq:ids` for frames (`id?` when tentative), `event:src:id` for records. */
function describeItem(item: FrameDetections | TrackRecord): string {
  if (isTrackRecord(item)) return `${item.event}:${item.source}:${item.trackId}`;
  const ids = item.detections.map((d) => `${d.trackId}${d.confirmed ? '' : '?'}`).join(',');
  return `${item.frame.source}#${item.frame.seq}:${ids}`;
}

const collect = (src: Observable<FrameDetections>, options = {}): Promise<string[]> =>
  lastValueFrom(src.pipe(trackObjects(options), toArray())).then((items) => items.map(describeItem));

describe('trackObjects', () => {
  it('tags detections, emits start right after its frame and ends open tracks on complete', async () => {
    const frames = [0, 1, 2].map((s) => fd('cam', s, [[0.1 + 0.01 * s, 0.1]]));
    expect(await collect(from(frames))).to.deep.equal(['cam#0:1?', 'cam#1:1', 'start:cam:1', 'cam#2:1', 'end:cam:1']);
  });

  it('ends a lost track on the frame where it expires', async () => {
    const frames = [fd('cam', 0, [[0.1, 0.1]]), fd('cam', 1, [[0.1, 0.1]]), fd('cam', 2, []), fd('cam', 3, [])];
    expect(await collect(from(frames), { maxLostMs: 50 })).to.deep.equal(['cam#0:1?', 'cam#1:1', 'start:cam:1', 'cam#2:', 'cam#3:', 'end:cam:1']);
  });

  it('keeps one tracker per source', async () => {
    const frames = [fd('a', 0, [[0.1, 0.1]]), fd('b', 0, [[0.5, 0.5]]), fd('a', 1, [[0.1, 0.1]]), fd('b', 1, [[0.5, 0.5], [0.1, 0.1]])];
    expect(await collect(from(frames))).to.deep.equal(['a#0:1?', 'b#0:1?', 'a#1:1', 'start:a:1', 'b#1:1,2?', 'start:b:1', 'end:a:1', 'end:b:1']);
  });

  it('starts over, ids still counting, when a source comes back at another resolution or earlier time', async () => {
    const frames = [
      fd('cam', 0, [[0.1, 0.1]]),
      fd('cam', 1, [[0.1, 0.1]]),
      fd('cam', 2, [[0.1, 0.1]], 1280, 720), // reconnected at 720p: same box, new track
      fd('cam', 3, [[0.1, 0.1]], 1280, 720),
      fd('cam', 4, [[0.1, 0.1]], 1280, 720, 0), // restarted clock
    ];
    expect(await collect(from(frames))).to.deep.equal(['cam#0:1?', 'cam#1:1', 'start:cam:1', 'end:cam:1', 'cam#2:2?', 'cam#3:2', 'start:cam:2', 'end:cam:2', 'cam#4:3?']);
  });

  it('keeps state per subscription', async () => {
    const tracked = from([fd('cam', 0, [[0.1, 0.1]]), fd('cam', 1, [[0.1, 0.1]])]).pipe(trackObjects());
    const first = await lastValueFrom(tracked.pipe(toArray()));
    const second = await lastValueFrom(tracked.pipe(toArray()));
    expect(second.map(describeItem)).to.deep.equal(first.map(describeItem));
  });

  it('passes errors through without ending tracks', () => {
    const scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
    scheduler.run(({ cold, expectObservable }) => {
      const a = fd('cam', 0, [[0.1, 0.1]]);
      const b = fd('cam', 1, [[0.1, 0.1]]);
      const out = cold('ab---#', { a, b }).pipe(trackObjects());
      expectObservable(out).toBe('a(bs)#', {
        a: { ...a, detections: [{ ...a.detections[0], trackId: 1, confirmed: false }] },
        b: { ...b, detections: [{ ...b.detections[0], trackId: 1, confirmed: true }] },
        s: {
          kind: 'track', event: 'start', source: 'cam', trackId: 1, label: 'face', classId: 0,
          firstSeq: 0, lastSeq: 1, firstPtsMs: 0, lastPtsMs: 40, frames: 2, maxScore: 0.9, box: b.detections[0].box,
        },
      });
    });
  });

  it('rejects bad options when built, not per frame', () => {
    expect(() => trackObjects({ minHits: 0 })).to.throw(SsdpipeError, /--track-min-hits/);
  });
});
