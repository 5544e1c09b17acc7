import { concatMap, type OperatorFunction } from 'rxjs';
import { isFrameRecord, type PipelineRecord } from '../records.js';
import type { Sink } from '../sinks/sink.js';

/**
 * Writes each record to every sink, in order, one record at a time (a slow sink holds the
 * pipeline back, and through flow control, the decoder). Frames go to every sink, and the time
 * spent is recorded as the frame's 'encode' timing; events go to the sinks that take them.
 */
export function writeSinks(sinks: readonly Sink[]): OperatorFunction<PipelineRecord, PipelineRecord> {
  const eventSinks = sinks.filter((s) => s.writeEvent);
  return concatMap(async (record) => {
    if (!isFrameRecord(record)) {
      await Promise.all(eventSinks.map((s) => s.writeEvent!(record)));
      return record;
    }
    const t0 = performance.now();
    await Promise.all(sinks.map((s) => s.write(record)));
    return sinks.length ? { ...record, timings: { ...record.timings, encode: performance.now() - t0 } } : record;
  });
}
