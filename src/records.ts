import type { FrameDetections } from './detection.js';
import type { TrackRecord } from './tracking/track-record.js';

/** A record about the run rather than one frame: a track's start or end (and, later, a source's status). */
export type PipelineEvent = TrackRecord;

/**
 * What flows from detection to the sinks, in order: one FrameDetections per frame, with the
 * events each frame caused right after it. Frames have no `kind`; events do.
 */
export type PipelineRecord = FrameDetections | PipelineEvent;

/** true for a frame's detections, false for an event. */
export function isFrameRecord(r: PipelineRecord): r is FrameDetections {
  return !('kind' in r);
}
