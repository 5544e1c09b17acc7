import { DEFAULTS } from '../config/schema.js';

/**
 * Credit-based backpressure between a push source (ffmpeg's stdout) and the pipeline's end.
 * The source counts frames it emits (`emitted`); the pipeline reports frames it has finished
 * (`release`). When more than `highWater` frames are in flight the source pauses ffmpeg
 * (it stops reading the pipe, so ffmpeg blocks on write); below `lowWater` it resumes.
 */
export class FlowControl {
  private inFlight = 0;
  private emittedTotal = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly highWater: number = DEFAULTS.maxInFlight,
    readonly lowWater = Math.floor(highWater / 2),
  ) {}

  /** Frames emitted and not yet released. */
  get pending(): number {
    return this.inFlight;
  }

  /** Frames emitted since creation (decoded frames; those not finished were dropped). */
  get totalEmitted(): number {
    return this.emittedTotal;
  }

  /** True when the source should stop reading. */
  get saturated(): boolean {
    return this.inFlight >= this.highWater;
  }

  /** The source emitted n frames. */
  emitted(n = 1): void {
    this.inFlight += n;
    this.emittedTotal += n;
  }

  /** The pipeline finished n frames (written, or dropped). */
  release(n = 1): void {
    const wasSaturated = this.inFlight > this.lowWater;
    this.inFlight = Math.max(0, this.inFlight - n);
    if (wasSaturated && this.inFlight <= this.lowWater) for (const l of [...this.listeners]) l();
  }

  /** Calls fn each time in-flight frames fall to lowWater; returns an unsubscribe function. */
  onDrain(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
