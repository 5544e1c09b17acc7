import type { FrameDetections, FrameTimings } from '../detection.js';
import type { PipelineEvent } from '../records.js';

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
  batch: number;
  /** Why the run ended: 'complete', 'aborted' (Ctrl-C, signal) or 'output-closed' (stdout reader went away). */
  ended: 'complete' | 'aborted' | 'output-closed';
  sources: string[];
}

const STAGES: readonly (keyof FrameTimings)[] = ['decode', 'preprocess', 'inference', 'postprocess', 'encode'];

/** Collects per-frame timings; pure bookkeeping, no I/O. */
export class StatsCollector {
  private readonly samples = new Map<keyof FrameTimings, number[]>();
  private frameCount = 0;
  private detectionCount = 0;
  private trackCount = 0;
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

  /** Records one finished frame. */
  record(item: FrameDetections): void {
    this.frameCount++;
    this.detectionCount += item.detections.length;
    for (const s of STAGES) {
      const v = item.timings[s];
      if (v !== undefined) this.samples.get(s)!.push(v);
    }
  }

  /** Records an event: a track start counts one track. */
  recordEvent(event: PipelineEvent): void {
    if (event.kind === 'track' && event.event === 'start') this.trackCount++;
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
    '  stage         p50 ms   p95 ms',
  ];
  for (const [name, st] of Object.entries(s.stages)) {
    lines.push(`  ${name.padEnd(12)} ${st.p50.toFixed(2).padStart(7)}  ${st.p95.toFixed(2).padStart(7)}`);
  }
  return lines.join('\n');
}
