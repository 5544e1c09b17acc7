import { Observable, type OperatorFunction } from 'rxjs';
import type { FrameDetections } from '../detection.js';
import { OptionError } from '../errors.js';
import type { PreparedBatch } from '../inference/detector.js';

/** What inferBatches needs of the detector. */
export interface BatchInferrer {
  infer(batch: PreparedBatch): Promise<FrameDetections[]>;
}

/** Options of inferBatches. */
export interface InferBatchesOptions {
  /**
   * Batches handed to the detector before the oldest has come back (default 1). With an engine
   * that queues runs (a worker engine: it still runs them one at a time, in order), 2 lets the
   * next batch wait inside the engine, so the engine never idles while this thread decodes and
   * writes the previous results.
   */
  depth?: number;
}

/**
 * Runs prepared batches through the detector in order and splits the results back into one
 * FrameDetections per frame, in frame order. When a batch's results arrive, the next batch is
 * started before the results go downstream: drawing and writing them then overlaps inference
 * instead of delaying it.
 */
export function inferBatches(detector: BatchInferrer, options: InferBatchesOptions = {}): OperatorFunction<PreparedBatch, FrameDetections> {
  const depth = options.depth ?? 1;
  if (!Number.isInteger(depth) || depth < 1) throw new OptionError('depth', 'an integer >= 1', depth, 'inferBatches keeps 1 or 2 batches in the engine');
  return (source) =>
    new Observable<FrameDetections>((subscriber) => {
      const waiting: PreparedBatch[] = [];
      const started: Promise<FrameDetections[]>[] = [];
      let sourceDone = false;
      let awaitingHead = false;
      let closed = false;

      const start = (): void => {
        while (started.length < depth && waiting.length > 0) {
          const p = detector.infer(waiting.shift()!);
          p.catch(() => undefined); // reported when it reaches the head, not as unhandled
          started.push(p);
        }
      };
      const next = (): void => {
        start();
        if (awaitingHead || closed) return;
        if (started.length === 0) {
          if (sourceDone) subscriber.complete();
          return;
        }
        awaitingHead = true;
        started[0].then(
          (results) => {
            if (closed) return;
            started.shift();
            awaitingHead = false;
            start(); // the next batch first, then the downstream work on these results
            for (const r of results) subscriber.next(r);
            next();
          },
          (err: unknown) => {
            if (!closed) subscriber.error(err);
          },
        );
      };

      const sub = source.subscribe({
        next: (batch) => {
          waiting.push(batch);
          next();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          next();
        },
      });
      return () => {
        closed = true;
        sub.unsubscribe();
      };
    });
}
