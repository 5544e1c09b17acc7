import { expect } from 'chai';
import type { Detection } from '../../src/detection.js';
import { SsdpipeError } from '../../src/errors.js';
import { ByteTracker, DEFAULT_MIN_HITS, type TrackerOptions, type TrackerUpdate } from '../../src/tracking/byte-tracker.js';

/** 25 fps: frame seq is at seq * 40 ms. */
const FRAME_MS = 40;

function det(x: number, y: number, size = 0.1, score = 0.9, classId = 0, label = classId === 0 ? 'face' : 'car'): Detection {
  return { classId, label, score, box: [x, y, x + size, y + size], trackId: null };
}

/** Runs frames [seq, detections] through a tracker, keeping every update. */
function run(tracker: ByteTracker, frames: Array<[number, Detection[]]>): TrackerUpdate[] {
  return frames.map(([seq, dets]) => tracker.update({ seq, ptsMs: seq * FRAME_MS }, dets));
}

/** Frames 0..n-1 of one object moving right by vx per frame from x0 (absent in `gaps`). */
function moving(n: number, x0: number, vx: number, gaps: number[] = [], score = 0.9): Array<[number, Detection[]]> {
  return Array.from({ length: n }, (_, s) => [s, gaps.includes(s) ? [] : [det(x0 + vx * s, 0.4, 0.1, score)]]);
}

const ids = (u: TrackerUpdate): Array<number | null> => u.detections.map((d) => d.trackId);

describe('ByteTracker', () => {
  it('confirms a track after minHits hits and reports start once', () => {
    const tracker = new ByteTracker({ minHits: 3 }, 'cam');
    const out = run(tracker, moving(5, 0.1, 0.01));
    expect(out.map((u) => u.detections[0].confirmed)).to.deep.equal([false, false, true, true, true]);
    expect(new Set(out.map((u) => u.detections[0].trackId))).to.deep.equal(new Set([1]));
    expect(out.map((u) => u.events.length)).to.deep.equal([0, 0, 1, 0, 0]);
    const start = out[2].events[0];
    expect(start).to.include({ kind: 'track', event: 'start', source: 'cam', trackId: 1, label: 'face', classId: 0 });
    expect(start).to.include({ firstSeq: 0, lastSeq: 2, firstPtsMs: 0, lastPtsMs: 80, frames: 3, maxScore: 0.9 });
    expect(start.box[0]).to.be.closeTo(0.12, 1e-12);
  });

  it('defaults to ByteTrack-like confirmation on the second hit', () => {
    expect(DEFAULT_MIN_HITS).to.equal(2);
    const out = run(new ByteTracker(), moving(2, 0.1, 0.01));
    expect(out.map((u) => u.detections[0].confirmed)).to.deep.equal([false, true]);
  });

  it('keeps the id through a missed frame', () => {
    const out = run(new ByteTracker(), moving(10, 0.1, 0.01, [5]));
    expect(out[5].detections).to.deep.equal([]);
    expect(out.flatMap(ids)).to.deep.equal(new Array(9).fill(1));
  });

  it('keeps the id through a 10-frame occlusion by predicting the motion', () => {
    // 0.015 per frame: over 11 frames the object moves 0.165, more than its own width (0.1),
    // so only the Kalman prediction can bring the old track back onto it.
    const gaps = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
    const out = run(new ByteTracker(), moving(30, 0.05, 0.015, gaps));
    expect(new Set(out.flatMap(ids))).to.deep.equal(new Set([1]));
    expect(out.flatMap((u) => u.events).map((e) => e.event)).to.deep.equal(['start']);
  });

  it('keeps the ids of two objects that cross', () => {
    // a moves right and b moves left on nearly the same row; they overlap around frame 15.
    const tracker = new ByteTracker();
    const frames: Array<[number, Detection[]]> = Array.from({ length: 30 }, (_, s) => [s, [det(0.1 + 0.02 * s, 0.4), det(0.7 - 0.02 * s, 0.42)]]);
    const out = run(tracker, frames);
    for (const u of out) {
      // Input order is kept: index 0 is always a, index 1 always b.
      expect(ids(u)).to.deep.equal([1, 2]);
    }
  });

  it('recovers a track through low-score detections in the second stage', () => {
    // Scores drop to 0.3 (an occluded face) for frames 5..14.
    const frames: Array<[number, Detection[]]> = Array.from({ length: 20 }, (_, s) => [s, [det(0.1 + 0.01 * s, 0.4, 0.1, s >= 5 && s < 15 ? 0.3 : 0.9)]]);
    const byte = run(new ByteTracker(), frames);
    expect(byte.flatMap(ids)).to.deep.equal(new Array(20).fill(1));
    expect(byte[7].detections[0]).to.include({ score: 0.3, confirmed: true });
    // Without the second stage (lowThreshold = highThreshold) the low detections are held back
    // and the track is lost meanwhile; it comes back (within maxLostMs) with the same id.
    const single = run(new ByteTracker({ lowThreshold: 0.5 }), frames);
    expect(single.slice(5, 15).every((u) => u.detections.length === 0)).to.equal(true);
    expect(single[15].detections[0].trackId).to.equal(1);
  });

  it('never starts a track from a low-score detection or one under newTrackThreshold', () => {
    const tracker = new ByteTracker();
    const out = run(tracker, [
      [0, [det(0.1, 0.1, 0.1, 0.3), det(0.5, 0.5, 0.1, 0.55)]],
      [1, [det(0.1, 0.1, 0.1, 0.3), det(0.5, 0.5, 0.1, 0.55)]],
    ]);
    expect(out.map((u) => u.detections.length)).to.deep.equal([0, 0]);
    expect(tracker.openTracks).to.equal(0);
  });

  it('keeps classes apart', () => {
    // A face and a car on the same box: two tracks; the class never jumps to the other track.
    const tracker = new ByteTracker();
    const out = run(
      tracker,
      Array.from({ length: 4 }, (_, s) => [s, [det(0.2, 0.2, 0.2, 0.9, 0), det(0.2, 0.2, 0.2, 0.9, 1)]] as [number, Detection[]]),
    );
    for (const u of out) expect(ids(u)).to.deep.equal([1, 2]);
    // Next frame only the car, then only a "face" where the car was: the face keeps id 1.
    const later = run(tracker, [
      [4, [det(0.2, 0.2, 0.2, 0.9, 1)]],
      [5, [det(0.2, 0.2, 0.2, 0.9, 0)]],
    ]);
    expect(later.map(ids)).to.deep.equal([[2], [1]]);
  });

  it('drops a tentative track that misses a frame', () => {
    const out = run(new ByteTracker({ minHits: 3 }), moving(5, 0.1, 0.01, [2]));
    expect(out.map(ids)).to.deep.equal([[1], [1], [], [2], [2]]);
    expect(out.flatMap((u) => u.events)).to.deep.equal([]);
  });

  it('ends a lost track once it has been lost longer than maxLostMs, counted in time', () => {
    // Seen at frames 0..4 (last at 160 ms); maxLostMs 200: still open at 360 ms (lost 200 ms),
    // ended at 400 ms (lost 240 ms).
    const tracker = new ByteTracker({ maxLostMs: 200 }, 'cam');
    const out = run(tracker, moving(12, 0.1, 0.01, [5, 6, 7, 8, 9, 10, 11]));
    const ends = out.map((u, s) => u.events.filter((e) => e.event === 'end').map(() => s)).flat();
    expect(ends).to.deep.equal([10]);
    expect(out[10].events[0]).to.include({ event: 'end', trackId: 1, firstSeq: 0, lastSeq: 4, lastPtsMs: 160, frames: 5 });
    expect(tracker.openTracks).to.equal(0);
  });

  it('ages lost tracks by time when frames are dropped', () => {
    // Two frames 600 ms apart (a live source that dropped 14 frames): lost 560 ms > 500 ms.
    const tracker = new ByteTracker({ maxLostMs: 500 });
    tracker.update({ seq: 0, ptsMs: 0 }, [det(0.1, 0.1)]);
    tracker.update({ seq: 1, ptsMs: 40 }, [det(0.1, 0.1)]);
    const u = tracker.update({ seq: 2, ptsMs: 600 }, []);
    expect(u.events.map((e) => e.event)).to.deep.equal(['end']);
  });

  it('finish() ends confirmed tracks only; reset keeps ids unique', () => {
    const tracker = new ByteTracker({}, 'cam');
    run(tracker, [
      [0, [det(0.1, 0.1)]],
      [1, [det(0.1, 0.1), det(0.6, 0.6)]],
    ]);
    // Track 1 is confirmed, track 2 still tentative.
    const ends = tracker.finish();
    expect(ends.map((e) => [e.event, e.trackId])).to.deep.equal([['end', 1]]);
    expect(tracker.openTracks).to.equal(0);
    const after = tracker.update({ seq: 0, ptsMs: 0 }, [det(0.1, 0.1)]);
    expect(ids(after)).to.deep.equal([3]);
    tracker.reset();
    expect(tracker.finish()).to.deep.equal([]);
  });

  it('rejects bad options when built, naming the flag', () => {
    const bad: Array<[TrackerOptions, RegExp]> = [
      [{ highThreshold: 1.5 }, /--track-high/],
      [{ lowThreshold: 0.7 }, /--track-low.*<= --track-high/],
      [{ newTrackThreshold: 0.4 }, /--track-new/],
      [{ matchIou: 0 }, /--track-match-iou/],
      [{ lowMatchIou: 2 }, /--track-low-match-iou/],
      [{ minHits: 0 }, /--track-min-hits/],
      [{ minHits: 1.5 }, /--track-min-hits/],
      [{ maxLostMs: -1 }, /--track-max-lost-ms/],
      [{ maxLostMs: NaN }, /--track-max-lost-ms/],
    ];
    for (const [options, re] of bad) expect(() => new ByteTracker(options), JSON.stringify(options)).to.throw(SsdpipeError, re);
  });
});
