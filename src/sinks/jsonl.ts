import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { FrameDetections } from '../detection.js';
import type { TrackRecord } from '../tracking/track-record.js';
import { OutputError } from '../errors.js';
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
 * Opens a JSONL sink. Each frame is one `write` of a complete line, so a stopped run leaves only
 * whole lines, one per processed frame. A reader that closes stdout (EPIPE, e.g. `| head`) ends
 * the sink quietly: later writes are dropped and `closed` tells the pipeline to stop.
 */
export async function openJsonlSink(options: JsonlSinkOptions): Promise<Sink & { readonly closed: boolean }> {
  const toStdout = options.target === '-';
  let stream: Writable;
  if (toStdout) {
    stream = options.stdout ?? process.stdout;
  } else {
    const target = checkOutputPath('jsonl', options.target);
    await createOutputDirs(target);
    try {
      stream = await openFile(target.path);
    } catch (cause) {
      throw new OutputError(`cannot write --jsonl ${options.target}: ${errnoText(cause)}`, {
        cause,
        hint: 'choose a path in a folder you can write to',
      });
    }
  }
  let closed = false;
  let failure: Error | null = null;
  // A track's box is written in pixels of its source's frames: the last frame size seen per source.
  const frameSize = new Map<string, { width: number; height: number }>();
  const writeLine = async (record: object): Promise<void> => {
    if (failure) throw new OutputError(`writing JSONL to ${options.target} failed: ${(failure as Error).message}`, { cause: failure });
    if (closed) return;
    if (!stream.write(JSON.stringify(record) + '\n')) await waitDrain(stream, () => closed || failure !== null);
  };
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else failure = err;
  });

  return {
    name: `jsonl ${options.target}`,
    get closed() {
      return closed;
    },
    async write(item) {
      frameSize.set(item.frame.source, { width: item.frame.width, height: item.frame.height });
      await writeLine(toFrameRecord(item));
    },
    async writeEvent(event) {
      const size = frameSize.get(event.source);
      if (size) await writeLine(toTrackRecord(event, size.width, size.height));
    },
    async close() {
      if (toStdout) return;
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve, reject) => {
        (stream as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve()));
      }).catch((cause) => {
        throw new OutputError(`closing JSONL ${options.target} failed: ${(cause as Error).message}`, { cause });
      });
    },
  };
}

function openFile(file: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    const s = createWriteStream(file, { flags: 'w' });
    s.once('open', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
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
