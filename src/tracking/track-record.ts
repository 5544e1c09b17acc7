/**
 * One track lifecycle event. `start` is reported on the frame where a track is confirmed
 * (its minHits-th hit); `end` on the frame where a lost track is dropped (lost longer than
 * maxLostMs), or when tracking finishes (input ended, run stopped, source reset).
 * first/last refer to the frames where the track was matched to a detection; `box` is the
 * last matched detection's box, normalized [x1, y1, x2, y2].
 * The JSONL sink writes it as {"type":"track","event","source","track_id","label",
 * "first_frame","last_frame","first_pts_ms","last_pts_ms","frames","max_score","bbox"}.
 */
export interface TrackRecord {
  readonly kind: 'track';
  readonly event: 'start' | 'end';
  readonly source: string;
  /** Positive integer, unique within its source for the run. */
  readonly trackId: number;
  readonly label: string;
  readonly classId: number;
  /** seq of the track's first matched frame (while it was still tentative). */
  readonly firstSeq: number;
  /** seq of the track's last matched frame so far. */
  readonly lastSeq: number;
  readonly firstPtsMs: number;
  readonly lastPtsMs: number;
  /** Frames in which the track was matched to a detection (hits, not the span). */
  readonly frames: number;
  /** Highest detection score among the matched detections. */
  readonly maxScore: number;
  /** Last matched box, normalized [x1, y1, x2, y2]. */
  readonly box: readonly [number, number, number, number];
}

/** true for a TrackRecord among other stream items (frame records have no `kind`). */
export function isTrackRecord(item: unknown): item is TrackRecord {
  return typeof item === 'object' && item !== null && (item as { kind?: unknown }).kind === 'track';
}
