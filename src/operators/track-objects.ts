import { Observable, type OperatorFunction } from 'rxjs';
import type { FrameDetections } from '../detection.js';
import { ByteTracker, resolveTrackerOptions, type TrackerOptions } from '../tracking/byte-tracker.js';
import type { TrackRecord } from '../tracking/track-record.js';

/** Per-source state of one subscription. */
interface SourceTracker {
  readonly tracker: ByteTracker;
  width: number;
  height: number;
  lastPtsMs: number;
}

/**
 * Tracks objects across frames: one ByteTracker per `frame.source`, state per subscription.
 * Each frame comes out with every tracked detection's `trackId` and `confirmed` set
 * (detections that belong to no track are held back; see ByteTracker), followed by the
 * TrackRecords that frame caused (`start` on confirmation, `end` when a lost track expires).
 * A source whose resolution changes (a live source reconnecting) or whose time goes backwards
 * (a restarted stream) first ends its open tracks and starts over; ids keep counting.
 * On complete every open confirmed track ends, then the output completes; errors pass through.
 * A stock operator was not enough: scan cannot emit the end records after the last frame.
 */
export function trackObjects(options: TrackerOptions = {}): OperatorFunction<FrameDetections, FrameDetections | TrackRecord> {
  const resolved = resolveTrackerOptions(options);
  return (source) =>
    new Observable<FrameDetections | TrackRecord>((subscriber) => {
      const trackers = new Map<string, SourceTracker>();
      const trackerFor = (fd: FrameDetections): SourceTracker => {
        const { frame } = fd;
        let st = trackers.get(frame.source);
        if (st === undefined) {
          st = { tracker: new ByteTracker(resolved, frame.source), width: frame.width, height: frame.height, lastPtsMs: frame.ptsMs };
          trackers.set(frame.source, st);
        } else if (st.width !== frame.width || st.height !== frame.height || frame.ptsMs < st.lastPtsMs) {
          for (const r of st.tracker.finish()) subscriber.next(r);
          st.width = frame.width;
          st.height = frame.height;
        }
        st.lastPtsMs = frame.ptsMs;
        return st;
      };
      const sub = source.subscribe({
        next: (fd) => {
          let update;
          try {
            update = trackerFor(fd).tracker.update(fd.frame, fd.detections);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next({ ...fd, detections: update.detections });
          for (const r of update.events) subscriber.next(r);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          for (const st of trackers.values()) for (const r of st.tracker.finish()) subscriber.next(r);
          subscriber.complete();
        },
      });
      return () => sub.unsubscribe();
    });
}
