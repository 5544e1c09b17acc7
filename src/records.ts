import type { FrameDetections } from './detection.js';
import type { StatusRecord } from './sources/reconnect-policy.js';
import type { TrackRecord } from './tracking/track-record.js';

/** A record about the run rather than one frame: a track's start or end, a live source's state. */
export type PipelineEvent = TrackRecord | StatusRecord;

/**
 * What flows from detection to the sinks, in order: one FrameDetections per frame, with the
 * events each frame caused right after it. Frames have no `kind`; events do.
 */
export type PipelineRecord = FrameDetections | PipelineEvent;

/** true for a frame's detections, false for an event. */
export function isFrameRecord(r: PipelineRecord): r is FrameDetections {
  return !('kind' in r);
}
