import { concatMap, type OperatorFunction } from 'rxjs';
import type { FrameDetections } from '../detection.js';
import type { PreparedBatch, SsdDetector } from '../model/detector.js';

/**
 * Runs prepared batches through the model one at a time, in order, and splits the results back
 * into one FrameDetections per frame. While a batch runs (the engine works off the JS thread),
 * the next batch is decoded and preprocessed upstream, and the previous one written downstream.
 */
export function inferBatches(detector: SsdDetector): OperatorFunction<PreparedBatch, FrameDetections> {
  return (source) =>
    source.pipe(
      concatMap((batch) => detector.infer(batch)),
      concatMap((results) => results),
    );
}
