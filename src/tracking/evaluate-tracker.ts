import { ByteTracker, type TrackerOptions } from './byte-tracker.js';
import { MotAccumulator, summarizeMot, type MotSummary } from './mot-metrics.js';
import type { SyntheticSequence } from './synthetic-scenes.js';

/** Tracking quality over a set of sequences, and what the tracker cost. */
export interface TrackerEvaluation {
  /** Counts summed over the sequences, ratios recomputed. */
  readonly summary: MotSummary;
  readonly frames: number;
  /** Time spent in ByteTracker.update only, summed over all frames. */
  readonly trackerMs: number;
  readonly msPerFrame: number;
}

/**
 * Runs a fresh ByteTracker over each sequence and scores its confirmed detections against the
 * ground truth (CLEAR MOT and IDF1 at IoU 0.5). Tentative detections (confirmed: false) are not
 * hypotheses: they are what a consumer showing only confirmed tracks would not show either.
 */
export function evaluateTracker(sequences: readonly SyntheticSequence[], options: TrackerOptions = {}): TrackerEvaluation {
  const summaries: MotSummary[] = [];
  let trackerMs = 0;
  let frames = 0;
  for (const sequence of sequences) {
    const tracker = new ByteTracker(options, sequence.name);
    const acc = new MotAccumulator();
    for (const frame of sequence.frames) {
      const t0 = performance.now();
      const { detections } = tracker.update(frame, frame.detections);
      trackerMs += performance.now() - t0;
      frames++;
      const hypotheses = [];
      for (const d of detections) if (d.confirmed && d.trackId !== null) hypotheses.push({ id: d.trackId, box: d.box });
      acc.update(frame.truth, hypotheses);
    }
    summaries.push(acc.summary());
  }
  return { summary: summarizeMot(summaries), frames, trackerMs, msPerFrame: frames > 0 ? trackerMs / frames : 0 };
}
