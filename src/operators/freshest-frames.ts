import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { OptionError } from '../errors.js';

/** Options of freshestFrames. */
export interface FreshestFramesOptions<T> {
  /**
   * Credits from the consumer: each emission lets n more frames through (e.g. the detector
   * finished a batch of n). This is the pull side of the same credit scheme FlowControl uses for
   * files, but where a file source pauses ffmpeg, a live one drops: pausing a camera only makes lag.
   */
  ready$: Observable<number>;
  /** Credits before ready$ says anything (default 1: one frame may be in flight). */
  initialCredits?: number;
  /** At most this many frames per second per source (default: no cap). */
  maxFps?: number;
  /** Called for each frame replaced by a fresher one of its source before it could go out. */
  onDrop?: (dropped: T) => void;
  /** Items that bypass scheduling (e.g. status records): emitted at once, using no credit. */
  passThrough?: (item: T) => boolean;
  /** Scheduler for the fps cap's clock and timer (tests pass a TestScheduler). */
  scheduler?: SchedulerLike;
}

/**
 * Live scheduling for several sources sharing one engine. While the consumer has no credit,
 * each source keeps only its freshest frame (the older one goes to onDrop); each credit sends
 * the pending frame of the next source in round-robin order, so sources share the engine
 * fairly (4 cameras, 20 frames/s of capacity: about 5 each), and a source over maxFps waits
 * its turn. Errors pass through; on complete the pending frames still go out as credits
 * arrive, then it completes. A stock operator does not fit: throttle/auditTime drop by time,
 * not by the consumer's readiness, and know nothing of sources or fairness.
 */
export function freshestFrames<T extends { readonly source: string }>(options: FreshestFramesOptions<T>): OperatorFunction<T, T> {
  const initialCredits = options.initialCredits ?? 1;
  if (!Number.isInteger(initialCredits) || initialCredits < 0) throw new OptionError('initialCredits', 'an integer >= 0', initialCredits);
  const { maxFps } = options;
  if (maxFps !== undefined && !(Number.isFinite(maxFps) && maxFps > 0)) throw new OptionError('--fps', 'a number > 0', maxFps);
  const minIntervalMs = maxFps === undefined ? 0 : 1000 / maxFps;
  const scheduler = options.scheduler ?? asyncScheduler;

  return (source) =>
    new Observable<T>((subscriber) => {
      let credits = initialCredits;
      /** Sources in the order first seen; `cursor` is where the round-robin search starts. */
      const order: string[] = [];
      const seen = new Set<string>();
      let cursor = 0;
      const pending = new Map<string, T>();
      const lastSent = new Map<string, number>();
      let timer: Subscription | null = null;
      let sourceDone = false;

      const eligibleAt = (id: string): number => {
        const last = lastSent.get(id);
        return last === undefined ? -Infinity : last + minIntervalMs;
      };

      const drain = (): void => {
        timer?.unsubscribe();
        timer = null;
        while (credits > 0 && pending.size > 0) {
          const now = scheduler.now();
          let served = false;
          for (let k = 0; k < order.length; k++) {
            const i = (cursor + k) % order.length;
            const id = order[i];
            const frame = pending.get(id);
            if (frame === undefined || eligibleAt(id) > now) continue;
            pending.delete(id);
            lastSent.set(id, now);
            credits -= 1;
            cursor = (i + 1) % order.length;
            served = true;
            subscriber.next(frame);
            break;
          }
          if (!served) {
            // Every pending source is over its fps cap: come back when the first one may go.
            let next = Infinity;
            for (const id of pending.keys()) next = Math.min(next, eligibleAt(id));
            timer = scheduler.schedule(drain, Math.max(0, next - now));
            return;
          }
        }
        if (sourceDone && pending.size === 0) subscriber.complete();
      };

      const readySub = options.ready$.subscribe({
        next: (n) => {
          credits += n;
          drain();
        },
        error: (err: unknown) => subscriber.error(err),
      });

      const sub = source.subscribe({
        next: (item) => {
          if (options.passThrough?.(item)) {
            subscriber.next(item);
            return;
          }
          const id = item.source;
          const older = pending.get(id);
          if (!seen.has(id)) {
            seen.add(id);
            order.push(id);
          }
          pending.set(id, item);
          if (older !== undefined) options.onDrop?.(older);
          drain();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });

      return () => {
        timer?.unsubscribe();
        readySub.unsubscribe();
        sub.unsubscribe();
      };
    });
}
