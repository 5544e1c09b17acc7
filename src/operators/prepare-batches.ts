import { map, type OperatorFunction } from 'rxjs';
import type { Frame } from '../frame.js';
import type { PreparedBatch, SsdDetector } from '../inference/detector.js';

/** Resizes and normalizes each batch of frames into one model input tensor. */
export function prepareBatches(detector: SsdDetector): OperatorFunction<Frame[], PreparedBatch> {
  return map((frames) => detector.prepare(frames));
}
