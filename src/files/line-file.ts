import { open, type FileHandle } from 'node:fs/promises';
import { OutputError } from '../errors.js';

/**
 * A file written as whole lines, so that whatever way the writer ends, every line in the file is
 * complete:
 * - each line is one write(2) at the end of the last whole line, and a process killed (even by
 *   SIGKILL) between system calls leaves whole lines only;
 * - a write that fails part-way (a full disk writes what fits, then fails with ENOSPC) is cut
 *   back with ftruncate to the last whole line, then the error is thrown.
 * A target that is not a regular file (/dev/full, a FIFO) is written in order, with no cutting back.
 */
export class LineFile {
  /** Bytes of whole lines in the file. */
  private committed = 0;
  /** The write in progress: lines go out one after another, in call order. */
  private tail: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly handle: FileHandle,
    private readonly regular: boolean,
  ) {}

  /** Opens (creating or truncating) `file` for writing lines. Throws the fs error as it is. */
  static async open(file: string): Promise<LineFile> {
    const handle = await open(file, 'w');
    try {
      return new LineFile(handle, (await handle.stat()).isFile());
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Bytes of whole lines written so far. */
  get bytes(): number {
    return this.committed;
  }

  /** The first write error (ENOSPC, EIO ...), after which every write throws it again. */
  get failure(): Error | null {
    return this.failed;
  }

  /** Writes one line (`text` must end with '\n' and hold no other); resolves once the OS has it. */
  write(text: string): Promise<void> {
    const data = Buffer.from(text, 'utf8');
    const next = this.tail.then(() => this.writeAll(data));
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Waits for the writes in flight and closes the file. Idempotent; never throws for a failed write. */
  close(): Promise<void> {
    this.closing ??= this.tail.then(() => this.handle.close());
    return this.closing;
  }

  private async writeAll(data: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.closing) throw new OutputError('a line was written after the file was closed', { hint: 'this looks like a bug in ssdpipe; please report it' });
    let done = 0;
    try {
      // A short write (a disk filling up) is retried with the rest, which then fails with the reason.
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.regular ? this.committed + done : null);
        done += bytesWritten;
      }
      this.committed += done;
    } catch (err) {
      this.failed = err as Error;
      if (this.regular && done > 0) await this.handle.truncate(this.committed).catch(() => undefined);
      throw err;
    }
  }
}
