import type { Detection } from '../detection.js';
import { OptionError } from '../errors.js';
import type { Frame } from '../frame.js';

/** Trail points kept per track when none is given: 0.8 s of motion at 25 fps. */
export const DEFAULT_TRAIL_LENGTH = 20;
/**
 * How long a track may go unseen before its trail is forgotten, in ms of the source's time
 * (ptsMs). Shorter than the tracker's lost-track wait on purpose: a track found again after a
 * long gap starts a new trail instead of drawing a long jump across the frame.
 */
export const DEFAULT_TRAIL_IDLE_MS = 1000;

/** Options of TrackTrails. */
export interface TrackTrailsOptions {
  /** Points kept per track, the newest last (default DEFAULT_TRAIL_LENGTH); at least 2. */
  readonly length?: number;
  /** A track unseen for longer than this, in ms, loses its trail (default DEFAULT_TRAIL_IDLE_MS). */
  readonly maxIdleMs?: number;
}

/** One track's recent anchor points. */
interface Trail {
  /** [length, 2] normalized (x, y), oldest first; the first `count` points are set. */
  readonly xy: Float64Array;
  count: number;
  lastPtsMs: number;
}

/** The trails of one source, valid for one resolution and a time that only moves forward. */
interface SourceTrails {
  width: number;
  height: number;
  lastPtsMs: number;
  readonly tracks: Map<number, Trail>;
}

/**
 * The recent path of every tracked object, for drawing trails: per (source, trackId), the
 * bottom-centre of the last `length` boxes, in normalized coordinates (x right, y down, 0..1).
 * Bottom-centre, not centre, so the trail runs behind the object instead of across it (the box
 * interior stays clear), and for people it follows where they stand.
 *
 * Call update() once per frame, before drawing that frame. A track not seen for more than
 * maxIdleMs of the source's time is forgotten. A source whose resolution changes (a live source
 * reconnecting) or whose time goes backwards (a restarted stream) starts over with no trails,
 * as the tracker does. Detections with a null trackId are ignored.
 *
 * Cost per frame: O(detections + tracks held); a track's points are a fixed-size array, so
 * only new tracks allocate.
 */
export class TrackTrails {
  /** Points kept per track. */
  readonly length: number;
  /** Idle time, ms, after which a track's trail is forgotten. */
  readonly maxIdleMs: number;
  private readonly sources = new Map<string, SourceTrails>();

  constructor(options: TrackTrailsOptions = {}) {
    const length = options.length ?? DEFAULT_TRAIL_LENGTH;
    const maxIdleMs = options.maxIdleMs ?? DEFAULT_TRAIL_IDLE_MS;
    if (!Number.isInteger(length) || length < 2) throw new OptionError('trail length', 'a whole number of points >= 2', length);
    if (!(maxIdleMs >= 0) || maxIdleMs === Infinity) throw new OptionError('trail maxIdleMs', 'a finite time in ms >= 0', maxIdleMs);
    this.length = length;
    this.maxIdleMs = maxIdleMs;
  }

  /** Records the frame's tracked detections and forgets the tracks idle too long. */
  update(frame: Pick<Frame, 'source' | 'ptsMs' | 'width' | 'height'>, detections: readonly Detection[]): void {
    const src = this.sourceFor(frame);
    const now = frame.ptsMs;
    for (const d of detections) {
      if (typeof d.trackId !== 'number') continue; // untracked (null, or a record from before tracking)
      const [x1, y1, x2, y2] = d.box;
      const x = (x1 + x2) / 2;
      const y = Math.max(y1, y2);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      this.push(src, d.trackId, x, y, now);
    }
    for (const [id, trail] of src.tracks) {
      if (now - trail.lastPtsMs > this.maxIdleMs) src.tracks.delete(id);
    }
  }

  /**
   * The track's points, [count, 2] normalized (x, y), oldest first, or null when it has none.
   * A view into the trail's own storage: read it before the next update().
   */
  points(source: string, trackId: number): Float64Array | null {
    const trail = this.sources.get(source)?.tracks.get(trackId);
    return trail ? trail.xy.subarray(0, 2 * trail.count) : null;
  }

  /** The number of tracks with a trail in a source. */
  trackCount(source: string): number {
    return this.sources.get(source)?.tracks.size ?? 0;
  }

  /** Forgets every trail of one source, or of all sources. */
  reset(source?: string): void {
    if (source === undefined) this.sources.clear();
    else this.sources.get(source)?.tracks.clear();
  }

  /** The source's trails, emptied first when its resolution changed or its time went backwards. */
  private sourceFor(frame: Pick<Frame, 'source' | 'ptsMs' | 'width' | 'height'>): SourceTrails {
    let src = this.sources.get(frame.source);
    if (src === undefined) {
      src = { width: frame.width, height: frame.height, lastPtsMs: frame.ptsMs, tracks: new Map() };
      this.sources.set(frame.source, src);
    } else if (src.width !== frame.width || src.height !== frame.height || frame.ptsMs < src.lastPtsMs) {
      src.tracks.clear();
      src.width = frame.width;
      src.height = frame.height;
    }
    src.lastPtsMs = frame.ptsMs;
    return src;
  }

  /** Appends a point, dropping the oldest when full; a second point in the same frame replaces the first. */
  private push(src: SourceTrails, trackId: number, x: number, y: number, now: number): void {
    let trail = src.tracks.get(trackId);
    if (trail === undefined) {
      trail = { xy: new Float64Array(2 * this.length), count: 0, lastPtsMs: now };
      src.tracks.set(trackId, trail);
    } else if (trail.count > 0 && trail.lastPtsMs === now) {
      trail.count--; // the same frame again (a duplicate id): keep the newer point only
    } else if (trail.count === this.length) {
      trail.xy.copyWithin(0, 2); // oldest point out; [length, 2] is small, a ring buffer would not pay
      trail.count--;
    }
    trail.xy[2 * trail.count] = x;
    trail.xy[2 * trail.count + 1] = y;
    trail.count++;
    trail.lastPtsMs = now;
  }
}
