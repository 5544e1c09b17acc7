import type { Readable } from 'node:stream';
import type { BufferPool } from '../buffer-pool.js';
import { rgbFrameBytes } from '../frame.js';
import type { FlowControl } from './flow-control.js';
import { FrameCutter } from './frame-cutter.js';

/** What readRawFrames needs: the frame size, where buffers come from, and the flow control. */
export interface RawFrameReaderOptions {
  readonly width: number;
  readonly height: number;
  readonly framePool?: BufferPool<Uint8Array>;
  /** Credit-based backpressure: reading stops while `flow.saturated`, resumes on `flow.onDrain`. */
  readonly flow?: FlowControl;
}

/** A running reader: how many frames were cut so far, and how to stop it. */
export interface RawFrameReader {
  /** Frames cut from the stream so far (emitted or waiting). */
  readonly decoded: number;
  /** Frames cut but held back while the flow is saturated. */
  readonly waiting: number;
  /** Call when the producer has exited cleanly: the reader finishes once stdout ended and every
   *  frame is out. */
  producerDone(): void;
  /** Stops reading and emitting (the producer is stopped by its owner). */
  close(): void;
}

/**
 * Reads packed RGB24 frames of a fixed size from a byte stream (ffmpeg's stdout) and hands them
 * out one by one, in order, while the flow control has credit. Not reading the stream fills the
 * pipe and blocks ffmpeg in write(): that is the backpressure. `onEnd` runs once, after the stream
 * ended, the producer is done and every frame was handed out; a partial last frame is dropped.
 */
export function readRawFrames(
  stream: Readable,
  options: RawFrameReaderOptions,
  onFrame: (data: Uint8Array) => void,
  onEnd: () => void,
): RawFrameReader {
  const { flow, framePool } = options;
  const cutter = new FrameCutter(rgbFrameBytes(options.width, options.height), framePool && ((n) => framePool.take(n)));
  const queue: Uint8Array[] = [];
  let decoded = 0;
  let streamEnded = false;
  let producerDone = false;
  let closed = false;
  let pumping = false;
  let ended = false;

  const pump = (): void => {
    // Re-entrant calls (a synchronous release inside onFrame firing onDrain) are folded into the
    // running loop, which re-checks `saturated` on every frame.
    if (pumping || closed) return;
    pumping = true;
    try {
      while (queue.length > 0 && !closed && !flow?.saturated) {
        const data = queue.shift()!;
        flow?.emitted();
        onFrame(data);
      }
    } finally {
      pumping = false;
    }
    if (closed) return;
    if (queue.length > 0 || flow?.saturated) stream.pause();
    else stream.resume();
    if (streamEnded && producerDone && queue.length === 0 && !ended) {
      ended = true;
      offDrain?.();
      onEnd();
    }
  };

  const offDrain = flow?.onDrain(pump);
  stream.on('data', (chunk: Buffer) => {
    if (closed) return;
    const frames = cutter.push(chunk);
    decoded += frames.length;
    queue.push(...frames);
    pump();
  });
  stream.once('end', () => {
    streamEnded = true;
    pump();
  });

  return {
    get decoded() {
      return decoded;
    },
    get waiting() {
      return queue.length;
    },
    producerDone() {
      producerDone = true;
      pump();
    },
    close() {
      closed = true;
      offDrain?.();
    },
  };
}
