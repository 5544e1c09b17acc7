import { expect } from 'chai';
import { DEFAULT_TRAIL_IDLE_MS, DEFAULT_TRAIL_LENGTH, TrackTrails } from '../../src/annotate/track-trails.js';
import type { Detection } from '../../src/detection.js';
import { OptionError } from '../../src/errors.js';

function frame(ptsMs: number, source = 'cam', width = 640, height = 480): { source: string; ptsMs: number; width: number; height: number } {
  return { source, ptsMs, width, height };
}

/** A 0.2 x 0.2 box whose bottom-centre is (x, y). */
function at(trackId: number | null, x: number, y: number): Detection {
  return { classId: 0, label: 'person', score: 0.9, box: [x - 0.1, y - 0.2, x + 0.1, y], trackId, confirmed: true };
}

function points(trails: TrackTrails, trackId: number, source = 'cam'): number[] | null {
  const p = trails.points(source, trackId);
  return p && [...p].map((v) => Math.round(v * 1000) / 1000);
}

describe('TrackTrails', () => {
  it('keeps the bottom-centre of each track\'s boxes, oldest first, normalized', () => {
    const trails = new TrackTrails();
    trails.update(frame(0), [at(1, 0.2, 0.5), at(2, 0.7, 0.9), at(null, 0.5, 0.5)]);
    trails.update(frame(40), [at(1, 0.25, 0.55)]);
    expect(points(trails, 1)).to.deep.equal([0.2, 0.5, 0.25, 0.55]);
    expect(points(trails, 2)).to.deep.equal([0.7, 0.9]);
    expect(trails.trackCount('cam')).to.equal(2); // the untracked detection has no trail
    expect(trails.points('cam', 3)).to.equal(null);
    expect(trails.points('other', 1)).to.equal(null);
    // A box given with its corners swapped has the same bottom-centre.
    trails.update(frame(80), [{ ...at(2, 0.7, 0.9), box: [0.8, 0.9, 0.6, 0.7] }]);
    expect(points(trails, 2)).to.deep.equal([0.7, 0.9, 0.7, 0.9]);
  });

  it('keeps the last N points per track', () => {
    const trails = new TrackTrails({ length: 3 });
    for (let k = 0; k < 5; k++) trails.update(frame(k * 40), [at(7, 0.1 * (k + 1), 0.5)]);
    expect(points(trails, 7)).to.deep.equal([0.3, 0.5, 0.4, 0.5, 0.5, 0.5]);
    const long = new TrackTrails();
    for (let k = 0; k < 50; k++) long.update(frame(k * 40), [at(7, 0.5, 0.5)]);
    expect(long.points('cam', 7)!.length).to.equal(2 * DEFAULT_TRAIL_LENGTH);
  });

  it('keeps one point per frame when an id appears twice in a frame (the later one)', () => {
    const trails = new TrackTrails();
    trails.update(frame(0), [at(1, 0.2, 0.5)]);
    trails.update(frame(40), [at(1, 0.3, 0.5), at(1, 0.4, 0.5)]);
    expect(points(trails, 1)).to.deep.equal([0.2, 0.5, 0.4, 0.5]);
  });

  it('forgets a track not seen for longer than maxIdleMs of source time, and keeps one seen just in time', () => {
    const trails = new TrackTrails({ maxIdleMs: 100 });
    trails.update(frame(0), [at(1, 0.2, 0.5), at(2, 0.6, 0.5)]);
    trails.update(frame(100), [at(2, 0.6, 0.6)]); // track 1 idle exactly 100 ms: kept
    expect(trails.trackCount('cam')).to.equal(2);
    trails.update(frame(140), []); // idle 140 ms: gone; track 2 idle 40 ms: kept
    expect(trails.points('cam', 1)).to.equal(null);
    expect(points(trails, 2)).to.deep.equal([0.6, 0.5, 0.6, 0.6]);
    // Seen again after being forgotten: a new trail, not a jump from the old position.
    trails.update(frame(180), [at(1, 0.9, 0.9)]);
    expect(points(trails, 1)).to.deep.equal([0.9, 0.9]);
    expect(DEFAULT_TRAIL_IDLE_MS).to.equal(1000);
  });

  it('starts a source over when its resolution changes or its time goes backwards; other sources keep theirs', () => {
    const trails = new TrackTrails();
    trails.update(frame(0), [at(1, 0.2, 0.5)]);
    trails.update(frame(0, 'door'), [at(1, 0.8, 0.8)]);
    trails.update(frame(40, 'cam', 1280, 720), [at(2, 0.5, 0.5)]); // reconnected at another size
    expect(trails.points('cam', 1)).to.equal(null);
    expect(points(trails, 2)).to.deep.equal([0.5, 0.5]);
    expect(points(trails, 1, 'door')).to.deep.equal([0.8, 0.8]);
    trails.update(frame(0, 'cam', 1280, 720), [at(3, 0.1, 0.1)]); // restarted stream: time went back
    expect(trails.points('cam', 2)).to.equal(null);
    expect(trails.trackCount('cam')).to.equal(1);
  });

  it('reset() forgets one source or all of them', () => {
    const trails = new TrackTrails();
    trails.update(frame(0), [at(1, 0.2, 0.5)]);
    trails.update(frame(0, 'door'), [at(1, 0.8, 0.8)]);
    trails.reset('cam');
    expect(trails.trackCount('cam')).to.equal(0);
    expect(trails.trackCount('door')).to.equal(1);
    trails.reset();
    expect(trails.trackCount('door')).to.equal(0);
  });

  it('skips boxes that are not finite and rejects bad options with OptionError', () => {
    const trails = new TrackTrails();
    trails.update(frame(0), [{ ...at(1, 0.5, 0.5), box: [Number.NaN, 0, 1, 1] }]);
    expect(trails.trackCount('cam')).to.equal(0);
    for (const bad of [{ length: 1 }, { length: 2.5 }, { maxIdleMs: -1 }, { maxIdleMs: Number.NaN }, { maxIdleMs: Infinity }]) {
      expect(() => new TrackTrails(bad), JSON.stringify(bad)).to.throw(OptionError);
    }
  });
});
