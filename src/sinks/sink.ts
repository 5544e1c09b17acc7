import type { FrameDetections } from '../detection.js';
import type { PipelineEvent } from '../records.js';

/** Where per-frame results go. Sinks do the I/O; they never print and never choose exit codes. */
export interface Sink {
  /** Human name for messages, e.g. 'jsonl out/people.jsonl'. */
  readonly name: string;
  /** Writes one frame's results. Frames arrive in order per source. Resolves once the data is
   *  handed to the OS or the encoder (so a slow sink applies backpressure to the pipeline). */
  write(item: FrameDetections): Promise<void>;
  /** Writes an event (a track's start or end), in stream order after the frame that caused it.
   *  Sinks without it do not receive events. */
  writeEvent?(event: PipelineEvent): Promise<void>;
  /** Flushes and finalizes the output (complete JSONL lines, a playable MP4). Idempotent. */
  close(): Promise<void>;
}

/** The same sink, taking only one source's frames and events (a source's own outputs). */
export function forSource(sink: Sink, source: string): Sink {
  return {
    name: `${sink.name} (${source})`,
    write: (item) => (item.frame.source === source ? sink.write(item) : Promise.resolve()),
    ...(sink.writeEvent ? { writeEvent: (e: PipelineEvent) => (e.source === source ? sink.writeEvent!(e) : Promise.resolve()) } : {}),
    close: () => sink.close(),
  };
}
