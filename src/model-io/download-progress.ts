import { ProgressBar } from '../sinks/progress.js';

/** Options of the download bar. */
export interface DownloadProgressOptions {
  /** What is downloaded (the model name). */
  label: string;
  /** Where to draw; only drawn when it is a TTY. */
  stream: NodeJS.WriteStream;
  /** Bytes expected, when known. */
  total?: number;
}

/**
 * The run's progress bar (TTY check, throttling, clearing) counting bytes instead of frames:
 * `model  [#####-----]  45%  12.3/27.1 MB  4.1 MB/s`.
 */
export class DownloadProgress extends ProgressBar {
  private readonly startedAt = performance.now();
  private done = 0;
  private total: number | undefined;
  private readonly label: string;

  constructor(options: DownloadProgressOptions) {
    super({ total: options.total ?? null, stream: options.stream });
    this.label = options.label;
    this.total = options.total;
  }

  /** Sets the expected total once a server has said it (Content-Length, a manifest). */
  setTotal(total: number | undefined): void {
    this.total = total;
  }

  /** Counts bytes received (or already on disk when a download resumes). */
  add(bytes: number): void {
    this.done += bytes;
    this.update(this.done);
  }

  /** The text of the bar. */
  override render(done: number, now = performance.now()): string {
    const secs = (now - this.startedAt) / 1000;
    const rate = secs > 0 ? `${mb(done / secs)} MB/s` : '';
    if (!this.total) return `${this.label}  ${mb(done)} MB  ${rate}`;
    const frac = Math.min(1, done / this.total);
    const width = 30;
    const filled = Math.round(frac * width);
    return `${this.label}  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${mb(done)}/${mb(this.total)} MB  ${rate}`;
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
