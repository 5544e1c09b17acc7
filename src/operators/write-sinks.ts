import { concatMap, type OperatorFunction } from 'rxjs';
import type { FrameDetections } from '../detection.js';
import type { Sink } from '../sinks/sink.js';

/**
 * Writes each frame's results to every sink, in order, one frame at a time (a slow sink holds the
 * pipeline back, and through flow control, the decoder). The time spent is recorded as 'encode'.
 */
export function writeSinks(sinks: readonly Sink[]): OperatorFunction<FrameDetections, FrameDetections> {
  return concatMap(async (item) => {
    const t0 = performance.now();
    await Promise.all(sinks.map((s) => s.write(item)));
    return sinks.length ? { ...item, timings: { ...item.timings, encode: performance.now() - t0 } } : item;
  });
}
