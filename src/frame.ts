/** One decoded video frame: packed RGB24, row-major, no padding (data.length === width * height * 3). */
export interface Frame {
  /** Source id, e.g. the input's file name or a camera name. */
  readonly source: string;
  /** 0-based sequence number within the source. */
  readonly seq: number;
  /** Presentation time in milliseconds from the start of the source. */
  readonly ptsMs: number;
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  /** Wall time, ms, between this frame and the previous one leaving the decoder (includes time
   *  the decoder was paused by flow control); the 'decode' stage of the run's timings. */
  readonly decodeMs?: number;
  /** Live sources only: wall-clock time the frame arrived, epoch ms (for frame age at detection). */
  readonly wallMs?: number;
}

/** Bytes in one packed RGB24 frame. */
export function rgbFrameBytes(width: number, height: number): number {
  return width * height * 3;
}
