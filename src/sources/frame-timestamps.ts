import type { Readable } from 'node:stream';

/** A frame timestamp from framecrc: the pts and the time base it counts in. */
export interface FramecrcTimestamp {
  readonly pts: number;
  /** Milliseconds: pts x time base x 1000. */
  readonly ms: number;
}

/**
 * Parses ffmpeg's framecrc output line by line: `#tb 0: 1/12800` sets the time base, and
 * `0, dts, pts, duration, size, crc` is one frame. Pure; returns null for header and blank lines.
 * Throws nothing: a line it does not understand is skipped (null).
 */
export class FramecrcParser {
  private timeBase: number | null = null;

  /** The timestamp on this line, or null when the line is not a frame. */
  line(text: string): FramecrcTimestamp | null {
    const t = text.trim();
    const tb = /^#tb\s+0:\s*(\d+)\/(\d+)$/.exec(t);
    if (tb) {
      const den = Number(tb[2]);
      this.timeBase = den > 0 ? Number(tb[1]) / den : null;
      return null;
    }
    if (t.startsWith('#') || this.timeBase === null) return null;
    const fields = t.split(',');
    if (fields.length < 6 || fields[0].trim() !== '0') return null;
    const pts = Number(fields[2]);
    if (!Number.isSafeInteger(pts)) return null;
    return { pts, ms: Math.round(pts * this.timeBase * 1e6) / 1e3 };
  }
}

/** The timestamps arriving from ffmpeg, in frame order. */
export interface TimestampQueue {
  /** Timestamps received and not yet taken. */
  readonly available: number;
  /** The pipe has ended: no more will come. */
  readonly ended: boolean;
  /** The next frame's timestamp in ms, or undefined if none is waiting. */
  shift(): number | undefined;
}

/**
 * Reads framecrc lines from a pipe (see frameTimestampArgs) into a queue; `onChange` runs after
 * each chunk and at the end, so whoever holds frames back for their timestamps can release them.
 * The pipe is always read (never paused): its lines are tiny and ffmpeg must not block on it.
 */
export function readFrameTimestamps(stream: Readable, onChange: () => void): TimestampQueue {
  const parser = new FramecrcParser();
  const queue: number[] = [];
  let head = 0;
  let partial = '';
  let ended = false;
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const ts = parser.line(line);
      if (ts) queue.push(ts.ms);
    }
    onChange();
  });
  const finish = (): void => {
    if (ended) return;
    const ts = partial ? parser.line(partial) : null;
    if (ts) queue.push(ts.ms);
    partial = '';
    ended = true;
    onChange();
  };
  stream.once('end', finish);
  stream.once('close', finish);
  stream.once('error', finish);
  return {
    get available() {
      return queue.length - head;
    },
    get ended() {
      return ended;
    },
    shift() {
      if (head >= queue.length) return undefined;
      const v = queue[head++];
      // Drop what was taken now and then, so a 2-hour input does not keep every timestamp.
      if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      return v;
    },
  };
}
