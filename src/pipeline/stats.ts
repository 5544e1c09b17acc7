import type { FrameDetections, FrameTimings } from '../detection.js';
import type { PipelineEvent } from '../records.js';
import type { SourceReport } from '../sources/source-report.js';

/** Per-stage timing summary in milliseconds per frame. */
export interface StageStats {
  p50: number;
  p95: number;
  mean: number;
}

/** What a run reports when it ends (printed on stderr, written by --stats as JSON). */
export interface RunSummary {
  frames: number;
  /** Frames decoded but not processed (e.g. the run was stopped). */
  dropped: number;
  detections: number;
  /** Tracks confirmed during the run (0 with tracking off). */
  tracks: number;
  wall_s: number;
  fps: number;
  stages: Partial<Record<keyof FrameTimings, StageStats>>;
  model: string;
  engine: string;
  backend: string;
  /** The engine's own line on what it runs and from where (e.g. that the ONNX model cache could not be written). */
  engine_reason?: string;
  batch: number;
  /** Why the run ended: 'complete', 'aborted' (Ctrl-C, signal), 'duration' (--duration ran out) or 'output-closed' (stdout reader went away). */
  ended: 'complete' | 'aborted' | 'duration' | 'output-closed';
  sources: string[];
  /** Per source: frames, detections, live state and scheduling (see SourceSummary). */
  per_source: SourceSummary[];
  /** File inputs that ended: frames declared vs decoded, truncation and damage (see SourceReport). */
  inputs: SourceReport[];
}

/** One source's part of the summary (and of the live status line). */
export interface SourceSummary {
  source: string;
  frames: number;
  detections: number;
  /** Frames decoded (files) or received (live) but not written: replaced by fresher ones (live) or in flight at a stop. */
  dropped: number;
  /** Frames per second written, over the run. */
  fps: number;
  /** Live sources: the last state (connecting, streaming, stalled, reconnecting, offline, ended). */
  state?: string;
  /** Live sources: connections made after the first. */
  reconnects?: number;
  /** Live sources: ms from a frame's arrival to its record being written, p50 / p95. */
  age_ms?: { p50: number; p95: number };
}

/** Live bookkeeping of one source. */
interface SourceStats {
  frames: number;
  detections: number;
  state?: string;
  connections: number;
  ages: number[];
}

const STAGES: readonly (keyof FrameTimings)[] = ['decode', 'preprocess', 'inference', 'postprocess', 'encode'];

/** Collects per-frame timings; pure bookkeeping, no I/O. */
export class StatsCollector {
  private readonly samples = new Map<keyof FrameTimings, number[]>();
  private frameCount = 0;
  private detectionCount = 0;
  private trackCount = 0;
  private readonly perSource = new Map<string, SourceStats>();
  private readonly startedAt: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.startedAt = now();
    for (const s of STAGES) this.samples.set(s, []);
  }

  /** Frames recorded so far. */
  get frames(): number {
    return this.frameCount;
  }

  /** Seconds since the collector was made. */
  elapsedSeconds(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  /** Records one finished frame; `writtenAt` (epoch ms) gives a live frame's age at output. */
  record(item: FrameDetections, writtenAt?: number): void {
    this.frameCount++;
    this.detectionCount += item.detections.length;
    const src = this.source(item.frame.source);
    src.frames++;
    src.detections += item.detections.length;
    // Bounded: the last 10,000 ages per source are plenty for p50/p95 of a long live run.
    if (item.frame.wallMs !== undefined && writtenAt !== undefined) {
      if (src.ages.length >= 10_000) src.ages.splice(0, 5_000);
      src.ages.push(writtenAt - item.frame.wallMs);
    }
    for (const s of STAGES) {
      const v = item.timings[s];
      if (v !== undefined) this.samples.get(s)!.push(v);
    }
  }

  /** Records an event: a track start counts one track. */
  recordEvent(event: PipelineEvent): void {
    if (event.kind === 'track') {
      if (event.event === 'start') this.trackCount++;
      return;
    }
    const src = this.source(event.source);
    src.state = event.state;
    if (event.state === 'streaming') src.connections++;
  }

  /** Each source's counts so far; `dropped(source)` says how many frames it lost. */
  sourceSummaries(sources: readonly string[], dropped: (source: string) => number): SourceSummary[] {
    const wall = this.elapsedSeconds();
    return sources.map((id) => {
      const s = this.source(id);
      const out: SourceSummary = { source: id, frames: s.frames, detections: s.detections, dropped: dropped(id), fps: round3(wall > 0 ? s.frames / wall : 0) };
      if (s.state !== undefined) {
        out.state = s.state;
        out.reconnects = Math.max(0, s.connections - 1);
      }
      if (s.ages.length) {
        const st = summarize(s.ages);
        out.age_ms = { p50: st.p50, p95: st.p95 };
      }
      return out;
    });
  }

  private source(id: string): SourceStats {
    let s = this.perSource.get(id);
    if (!s) this.perSource.set(id, (s = { frames: 0, detections: 0, connections: 0, ages: [] }));
    return s;
  }

  /** Summarizes everything recorded. */
  summary(meta: Omit<RunSummary, 'frames' | 'detections' | 'tracks' | 'wall_s' | 'fps' | 'stages'>): RunSummary {
    const wall = this.elapsedSeconds();
    const stages: RunSummary['stages'] = {};
    for (const s of STAGES) {
      const v = this.samples.get(s)!;
      if (v.length) stages[s] = summarize(v);
    }
    return {
      frames: this.frameCount,
      detections: this.detectionCount,
      tracks: this.trackCount,
      wall_s: round3(wall),
      fps: round3(wall > 0 ? this.frameCount / wall : 0),
      stages,
      ...meta,
    };
  }
}

/** p50/p95/mean of a sample (nearest-rank percentiles). */
export function summarize(values: readonly number[]): StageStats {
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: round3(rank(0.5)), p95: round3(rank(0.95)), mean: round3(mean) };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The one-screen human summary printed on stderr at the end of a run. */
export function formatSummary(s: RunSummary): string {
  const lines = [
    `ssdpipe: ${s.frames} frames in ${s.wall_s.toFixed(2)} s (${s.fps.toFixed(1)} fps), ${s.detections} detections, ${s.tracks} tracks, ${s.dropped} dropped` +
      (s.ended === 'complete' ? '' : ` [${s.ended}]`),
    `  model ${s.model} on ${s.engine}/${s.backend}, batch ${s.batch}`,
    ...(s.engine_reason ? [`  engine: ${s.engine_reason}`] : []),
    '  stage         p50 ms   p95 ms',
  ];
  for (const [name, st] of Object.entries(s.stages)) {
    lines.push(`  ${name.padEnd(12)} ${st.p50.toFixed(2).padStart(7)}  ${st.p95.toFixed(2).padStart(7)}`);
  }
  if (s.per_source.length > 1 || s.per_source.some((p) => p.state !== undefined)) {
    for (const p of s.per_source) lines.push(`  ${formatSource(p)}`);
  }
  return lines.join('\n');
}

/** One source on one line: frames, fps, and for live sources state, drops, reconnects and age. */
export function formatSource(p: SourceSummary): string {
  const parts = [`${p.source}: ${p.frames} frames, ${p.fps.toFixed(1)} fps`];
  if (p.state !== undefined) parts.push(p.state);
  if (p.dropped) parts.push(`${p.dropped} dropped`);
  if (p.reconnects) parts.push(`${p.reconnects} reconnects`);
  if (p.age_ms) parts.push(`age p50 ${Math.round(p.age_ms.p50)} ms, p95 ${Math.round(p.age_ms.p95)} ms`);
  return parts.join(', ');
}
