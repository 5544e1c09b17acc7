/** Options of the progress line. */
export interface ProgressOptions {
  /** Frames expected, or null when unknown (live sources, unknown counts). */
  total: number | null;
  /** Where to draw; only drawn when it is a TTY. */
  stream: NodeJS.WriteStream;
  /** Minimum ms between redraws. */
  intervalMs?: number;
}

/** A one-line progress bar with fps and ETA, redrawn in place on a TTY; silent elsewhere. */
export class ProgressBar {
  private last = Number.NEGATIVE_INFINITY;
  private readonly started = performance.now();
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {}

  /** Updates the bar after `done` frames (throttled). */
  update(done: number): void {
    const { stream } = this.options;
    if (!stream.isTTY) return;
    const now = performance.now();
    if (now - this.last < (this.options.intervalMs ?? 200)) return;
    this.last = now;
    stream.write('\r' + this.render(done, now) + '\x1b[K');
    this.drawn = true;
  }

  /** Clears the line so the summary prints cleanly. */
  finish(): void {
    if (this.drawn) this.options.stream.write('\r\x1b[K');
  }

  /** The text of the bar (exported for tests through the class). */
  render(done: number, now = performance.now()): string {
    const secs = (now - this.started) / 1000;
    const fps = secs > 0 ? done / secs : 0;
    const { total } = this.options;
    if (!total) return `${done} frames  ${fps.toFixed(1)} fps  ${secs.toFixed(0)} s`;
    const frac = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(frac * width);
    const eta = fps > 0 ? (total - done) / fps : 0;
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${done}/${total}  ${fps.toFixed(1)} fps  ETA ${formatSeconds(eta)}`;
  }
}

function formatSeconds(s: number): string {
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  return m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
