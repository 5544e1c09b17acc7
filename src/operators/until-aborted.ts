import { Observable, type MonoTypeOperatorFunction } from 'rxjs';

/**
 * Mirrors the source until the signal aborts, then unsubscribes from it (a source stops its
 * ffmpeg) and completes, so that everything downstream can flush: unlike an error, completion
 * lets batches in flight finish, trackers end their tracks and sinks write what they hold.
 * Without a signal the source passes unchanged.
 */
export function untilAborted<T>(signal: AbortSignal | undefined): MonoTypeOperatorFunction<T> {
  if (!signal) return (source) => source;
  return (source) =>
    new Observable<T>((subscriber) => {
      if (signal.aborted) {
        subscriber.complete();
        return undefined;
      }
      const onAbort = (): void => {
        sub.unsubscribe();
        subscriber.complete();
      };
      const sub = source.subscribe({
        next: (v) => subscriber.next(v),
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      signal.addEventListener('abort', onAbort, { once: true });
      return () => {
        signal.removeEventListener('abort', onAbort);
        sub.unsubscribe();
      };
    });
}
