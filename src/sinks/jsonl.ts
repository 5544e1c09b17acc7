import type { Writable } from 'node:stream';
import type { FrameDetections } from '../detection.js';
import type { StatusRecord } from '../sources/reconnect-policy.js';
import type { TrackRecord } from '../tracking/track-record.js';
import { OutputError } from '../errors.js';
import { LineFile } from '../files/line-file.js';
import { checkOutputPath, createOutputDirs, errnoText } from '../files/output-paths.js';
import type { Sink } from './sink.js';

/** One detection as written to JSONL: bbox in source-frame pixels [x1, y1, x2, y2]. */
export interface JsonlDetection {
  label: string;
  class_id: number;
  score: number;
  bbox: [number, number, number, number];
  track_id: number | null;
  /** Present when tracking: false while the track is tentative (not yet --track-min-hits frames). */
  confirmed?: boolean;
}

/** One JSONL line per frame. */
export interface JsonlFrameRecord {
  type: 'frame';
  source: string;
  frame: number;
  pts_ms: number;
  /** Live sources: when the frame arrived, epoch ms. */
  wall_ms?: number;
  width: number;
  height: number;
  detections: JsonlDetection[];
}

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/**
 * Converts a frame's detections to its JSONL record: normalized boxes become source pixels,
 * rounded to 0.01 px and clipped so that 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height;
 * a box that collapses under rounding is left out.
 */
export function toFrameRecord(item: FrameDetections): JsonlFrameRecord {
  const { frame } = item;
  const detections: JsonlDetection[] = [];
  for (const d of item.detections) {
    const x1 = clip(round(d.box[0] * frame.width, 2), frame.width);
    const y1 = clip(round(d.box[1] * frame.height, 2), frame.height);
    const x2 = clip(round(d.box[2] * frame.width, 2), frame.width);
    const y2 = clip(round(d.box[3] * frame.height, 2), frame.height);
    if (!(x2 > x1 && y2 > y1)) continue;
    const det: JsonlDetection = { label: d.label, class_id: d.classId, score: round(d.score, 4), bbox: [x1, y1, x2, y2], track_id: d.trackId };
    if (d.confirmed !== undefined) det.confirmed = d.confirmed;
    detections.push(det);
  }
  return {
    type: 'frame',
    source: frame.source,
    frame: frame.seq,
    pts_ms: round(frame.ptsMs, 3),
    ...(frame.wallMs !== undefined ? { wall_ms: Math.round(frame.wallMs) } : {}),
    width: frame.width,
    height: frame.height,
    detections,
  };
}

/** A track's start or end as written to JSONL (bbox: its last box, in source-frame pixels). */
export interface JsonlTrackRecord {
  type: 'track';
  event: 'start' | 'end';
  source: string;
  track_id: number;
  label: string;
  first_frame: number;
  last_frame: number;
  first_pts_ms: number;
  last_pts_ms: number;
  frames: number;
  max_score: number;
  bbox: [number, number, number, number];
}

/** A live source's state change as written to JSONL. */
export interface JsonlStatusRecord {
  type: 'status';
  source: string;
  state: StatusRecord['state'];
  /** ISO 8601 UTC. */
  time: string;
  attempt: number;
  reason: string | null;
  /** reconnecting: how long until the next attempt. */
  delay_ms?: number;
  /** streaming: what this connection delivers. */
  width?: number;
  height?: number;
  fps?: number;
}

/** Converts a live source's status record to its JSONL record (credentials are already removed). */
export function toStatusRecord(r: StatusRecord): JsonlStatusRecord {
  const out: JsonlStatusRecord = { type: 'status', source: r.source, state: r.state, time: r.time, attempt: r.attempt, reason: r.reason };
  if (r.delayMs !== undefined) out.delay_ms = Math.round(r.delayMs);
  if (r.media) {
    out.width = r.media.width;
    out.height = r.media.height;
    out.fps = r.media.fps;
  }
  return out;
}

/** Converts a track event to its JSONL record, its box in pixels of a width x height frame. */
export function toTrackRecord(r: TrackRecord, width: number, height: number): JsonlTrackRecord {
  return {
    type: 'track',
    event: r.event,
    source: r.source,
    track_id: r.trackId,
    label: r.label,
    first_frame: r.firstSeq,
    last_frame: r.lastSeq,
    first_pts_ms: round(r.firstPtsMs, 3),
    last_pts_ms: round(r.lastPtsMs, 3),
    frames: r.frames,
    max_score: round(r.maxScore, 4),
    bbox: [
      clip(round(r.box[0] * width, 2), width),
      clip(round(r.box[1] * height, 2), height),
      clip(round(r.box[2] * width, 2), width),
      clip(round(r.box[3] * height, 2), height),
    ],
  };
}

function clip(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

/** Options of the JSONL sink. */
export interface JsonlSinkOptions {
  /** File path, or '-' for stdout. */
  target: string;
  /** Stream to use for '-' (default process.stdout); tests pass their own. */
  stdout?: Writable;
}

/**
 * Opens a JSONL sink. Each record is one write of a complete line, so whatever way a run ends
 * (a stop, a crash, SIGKILL) the file holds only whole lines, one per processed frame; a disk
 * that fills up fails the write with "no space left on device" and the partly written line is
 * cut back (see LineFile). A reader that closes stdout (EPIPE, e.g. `| head`) ends the sink
 * quietly: later writes are dropped and `closed` tells the pipeline to stop.
 */
export async function openJsonlSink(options: JsonlSinkOptions): Promise<Sink & { readonly closed: boolean }> {
  const lines = options.target === '-' ? stdoutLines(options.stdout ?? process.stdout) : await fileLines(options.target);
  const failed = (cause: unknown): OutputError =>
    new OutputError(`writing --jsonl ${options.target} failed: ${errnoText(cause)}`, {
      cause,
      hint: 'free some space or write elsewhere; the lines written before hold complete records',
    });
  // A track's box is written in pixels of its source's frames: the last frame size seen per source.
  const frameSize = new Map<string, { width: number; height: number }>();
  let reported = false;
  const writeLine = async (record: object): Promise<void> => {
    try {
      await lines.write(JSON.stringify(record) + '\n');
    } catch (cause) {
      reported = true;
      throw failed(cause);
    }
  };

  return {
    name: `jsonl ${options.target}`,
    get closed() {
      return lines.closed;
    },
    async write(item) {
      frameSize.set(item.frame.source, { width: item.frame.width, height: item.frame.height });
      await writeLine(toFrameRecord(item));
    },
    async writeEvent(event) {
      if (event.kind === 'status') return writeLine(toStatusRecord(event));
      const size = frameSize.get(event.source);
      if (size) await writeLine(toTrackRecord(event, size.width, size.height));
    },
    async close() {
      await lines.close();
      // A failure no write has reported yet (stdout's errors arrive after the write returned).
      if (lines.failure && !reported) {
        reported = true;
        throw failed(lines.failure);
      }
    },
  };
}

/** Where the sink's lines go: a file or stdout. */
interface LineTarget {
  /** Rejects with the system error (ENOSPC ...) once writing failed; resolves without writing once `closed`. */
  write(line: string): Promise<void>;
  /** The reader went away (EPIPE): lines are dropped from now on. */
  readonly closed: boolean;
  readonly failure: Error | null;
  close(): Promise<void>;
}

/** A checked, opened file (folders created); unwritable places throw OutputError. */
async function fileLines(shownPath: string): Promise<LineTarget> {
  const target = checkOutputPath('jsonl', shownPath);
  await createOutputDirs(target);
  let file: LineFile;
  try {
    file = await LineFile.open(target.path);
  } catch (cause) {
    throw new OutputError(`cannot write --jsonl ${shownPath}: ${errnoText(cause)}`, {
      cause,
      hint: 'choose a path in a folder you can write to',
    });
  }
  return { write: (line) => file.write(line), closed: false, get failure() { return file.failure; }, close: () => file.close() };
}

/**
 * Lines to stdout, which the sink does not own (it is never ended). Each line is one write; a
 * full pipe makes the next write wait for 'drain'.
 */
function stdoutLines(stream: Writable): LineTarget {
  let closed = false;
  let failure: Error | null = null;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else failure ??= err;
  });
  return {
    get closed() {
      return closed;
    },
    get failure() {
      return failure;
    },
    async write(line) {
      if (failure) throw failure;
      if (closed) return;
      if (!stream.write(line)) await waitDrain(stream, () => closed || failure !== null);
      if (failure) throw failure;
    },
    async close() {},
  };
}

function waitDrain(stream: Writable, stop: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (stop()) return resolve();
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}
