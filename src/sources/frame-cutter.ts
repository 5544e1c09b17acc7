import { OptionError } from '../errors.js';

/**
 * Cuts a byte stream (ffmpeg's rawvideo stdout, arriving in chunks of any size) into frames
 * of exactly `frameBytes` bytes.
 *
 * A frame that lies wholly inside one chunk is returned as a view of that chunk (zero-copy);
 * a frame that straddles chunks is assembled into a fresh array. Views are safe because Node
 * hands a child's stdout out in newly allocated buffers that it never reuses or overwrites.
 * A caller feeding buffers it later rewrites must copy them first. A view keeps its whole
 * chunk alive (at most the pipe's read size, 64 KiB), a bounded cost.
 * Frames are plain Uint8Array views (not Buffer) so downstream code sees one type.
 */
export class FrameCutter {
  /** The partial frame being assembled across chunks, and how much of it is filled. */
  private partial: Uint8Array | null = null;
  private filled = 0;

  /**
   * @param frameBytes bytes per frame
   * @param allocate where frames assembled across chunks are put (default: a new array each);
   *   it must return arrays of exactly frameBytes bytes
   */
  constructor(
    readonly frameBytes: number,
    private readonly allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes),
  ) {
    if (!Number.isSafeInteger(frameBytes) || frameBytes <= 0) {
      throw new OptionError('frameBytes', 'a positive integer', frameBytes);
    }
  }

  /** Bytes held of an incomplete frame; non-zero at end of stream means the last frame was truncated. */
  get remainder(): number {
    return this.filled;
  }

  /** Takes the next chunk; returns the frames it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    const n = this.frameBytes;
    let offset = 0;

    if (this.partial) {
      const take = Math.min(n - this.filled, chunk.length);
      this.partial.set(chunk.subarray(0, take), this.filled);
      this.filled += take;
      offset = take;
      if (this.filled < n) return frames;
      frames.push(this.partial);
      this.partial = null;
      this.filled = 0;
    }

    while (chunk.length - offset >= n) {
      frames.push(new Uint8Array(chunk.buffer, chunk.byteOffset + offset, n));
      offset += n;
    }

    if (offset < chunk.length) {
      this.partial = this.allocate(n);
      this.partial.set(chunk.subarray(offset));
      this.filled = chunk.length - offset;
    }
    return frames;
  }
}
