import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { OptionError } from '../errors.js';

/** Options of batchFrames. */
export interface BatchOptions {
  /** Emit as soon as this many items are waiting (>= 1). */
  size: number;
  /** Emit a partial batch this long after its first item arrived (>= 0; 0 = no waiting). */
  maxWaitMs: number;
  /** Scheduler for the wait timer (tests pass a TestScheduler). */
  scheduler?: SchedulerLike;
}

/**
 * Groups items into arrays of up to `size`, emitted when full or `maxWaitMs` after the batch's
 * first item, whichever comes first; a partial batch is flushed on complete; errors pass through.
 * Unlike bufferTime, the timer starts at a batch's first item, so a live source never waits
 * longer than maxWaitMs and an idle one emits nothing (no empty arrays).
 */
export function batchFrames<T>(options: BatchOptions): OperatorFunction<T, T[]> {
  const { size, maxWaitMs } = options;
  if (!Number.isInteger(size) || size < 1) throw new OptionError('--batch', 'an integer >= 1', size);
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new OptionError('--max-wait-ms', 'a number >= 0', maxWaitMs);
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let batch: T[] = [];
      let timer: Subscription | null = null;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = null;
        if (batch.length === 0) return;
        const out = batch;
        batch = [];
        subscriber.next(out);
      };
      const sub = source.subscribe({
        next: (item) => {
          batch.push(item);
          if (batch.length >= size) flush();
          else if (batch.length === 1 && maxWaitMs === 0) flush();
          else if (batch.length === 1) timer = scheduler.schedule(flush, maxWaitMs);
        },
        error: (err) => {
          timer?.unsubscribe();
          subscriber.error(err);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
