/**
 * A free list of same-length typed arrays, for the per-frame buffers of a run (decoded frames,
 * model inputs, annotated copies). Allocating them anew for every frame (2.7 MB for 720p RGB,
 * 3 MB for a 512x512 float input) made V8 spend ~3 ms a frame in garbage collection on the main
 * thread and more in its helper threads (ssdpipe detect with --cpu-prof, 1280x720, 2 cores).
 *
 * Only arrays that span their whole, still attached buffer are kept: views into bigger buffers
 * and buffers transferred to another thread are left to the garbage collector.
 */
/**
 * True when the array spans all of its buffer, and the buffer is still attached: the buffer can
 * then be reused or transferred to another thread without touching anyone else's data.
 */
export function ownsWholeBuffer(array: ArrayBufferView): boolean {
  return array.byteOffset === 0 && array.byteLength > 0 && array.byteLength === array.buffer.byteLength;
}

export class BufferPool<T extends Uint8Array | Float32Array> {
  private readonly free = new Map<number, T[]>();

  /**
   * @param create makes a new array of a length
   * @param capacity arrays kept per length; more are left to the garbage collector
   */
  constructor(
    private readonly create: (length: number) => T,
    readonly capacity = 8,
  ) {}

  /** An array of `length` elements: a returned one (old contents) or a new one (zeros). */
  take(length: number): T {
    return this.free.get(length)?.pop() ?? this.create(length);
  }

  /** Returns an array nobody reads any more; it may be handed out by take() from now on. */
  give(array: T): void {
    if (!ownsWholeBuffer(array)) return;
    let list = this.free.get(array.length);
    if (!list) this.free.set(array.length, (list = []));
    if (list.length < this.capacity && !list.includes(array)) list.push(array);
  }

  /** Arrays held, over all lengths. */
  get size(): number {
    let n = 0;
    for (const l of this.free.values()) n += l.length;
    return n;
  }
}

/** A pool of byte buffers (frames). */
export const bytePool = (capacity?: number): BufferPool<Uint8Array> => new BufferPool((n) => new Uint8Array(n), capacity);

/** A pool of float buffers (model inputs). */
export const floatPool = (capacity?: number): BufferPool<Float32Array> => new BufferPool((n) => new Float32Array(n), capacity);
