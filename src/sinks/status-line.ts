/** Options of StatusLine. */
export interface StatusLineOptions {
  /** Where the line is drawn; nothing is drawn unless it is a TTY. */
  stream: NodeJS.WriteStream;
  /** The text of the line, computed when it is drawn. */
  render: () => string;
  /** Least time between two draws, ms (default 1000). */
  intervalMs?: number;
}

/**
 * One line redrawn in place on a terminal, at most once per interval: the live counterpart of
 * the progress bar (a run over cameras has no total), showing each source's state and rate.
 */
export class StatusLine {
  private last = 0;
  private drawn = false;
  private readonly intervalMs: number;

  constructor(private readonly options: StatusLineOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
  }

  /** Redraws the line if the interval has passed. */
  update(now = performance.now()): void {
    if (!this.options.stream.isTTY || now - this.last < this.intervalMs) return;
    this.last = now;
    const width = this.options.stream.columns ?? 120;
    this.options.stream.write(`\r\x1b[2K${this.options.render().slice(0, Math.max(20, width - 1))}`);
    this.drawn = true;
  }

  /** Clears the line (the summary follows). */
  finish(): void {
    if (this.drawn) this.options.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
