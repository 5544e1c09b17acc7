import type { Frame } from './frame.js';

/**
 * One detected object. `box` is normalized to the source frame, [x1, y1, x2, y2] in 0..1
 * (x right, y down). Sinks convert to pixels; nothing upstream of a sink uses pixels.
 */
export interface Detection {
  readonly classId: number;
  readonly label: string;
  readonly score: number;
  /** [x1, y1, x2, y2], normalized to the source frame, clipped to [0, 1]. */
  readonly box: readonly [number, number, number, number];
  /** Identity across frames once a tracker has run; null before. */
  readonly trackId: number | null;
  /**
   * Set by the tracker: true once the detection's track has been matched minHits times,
   * false while it is tentative (and may still vanish without a track start record).
   * Absent before tracking.
   */
  readonly confirmed?: boolean;
}

/** Stage timings for one frame, in milliseconds (a batch's time is shared equally by its frames). */
export interface FrameTimings {
  decode?: number;
  preprocess?: number;
  inference?: number;
  postprocess?: number;
  encode?: number;
}

/** Detections for one frame, joined to the frame by (source, seq, ptsMs). */
export interface FrameDetections {
  readonly frame: Frame;
  readonly detections: readonly Detection[];
  readonly timings: FrameTimings;
}
