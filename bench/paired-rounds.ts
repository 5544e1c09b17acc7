import path from 'node:path';
import type { Frame } from '../src/frame.js';
import type { SsdDetector } from '../src/inference/detector.js';
import { run } from '../src/pipeline/run.js';
import type { MediaInfo } from '../src/sources/probe.js';
import { inferenceOnly } from './ceilings.js';
import { naiveLoop, oneFrameAtATime } from './naive-loop.js';
import type { BenchRound, BenchRow } from './result.js';
import { median, round } from './stats.js';

// Why rounds: on a shared 2-core machine the speed of the whole machine drifts by 10-15% within
// minutes. A ceiling measured once and a pipeline measured a minute later then compare two
// different machines; each round's ratios use the ceiling measured just before its runs, and
// the result reports the median over the rounds.

/** What every round measures against: the input, the decode ceiling, the fastest detector and the batch it runs at. */
export interface RoundSetup {
  input: string;
  info: MediaInfo;
  outDir: string;
  threads?: number;
  /** fps of the decode-only ceiling, measured once before the rounds. */
  decodeFps: number;
  /** Decoded frames the inference-only ceiling cycles through. */
  frames: Frame[];
  detector: SsdDetector;
  /** The batch the inference ceiling was fastest at; the pipelines run at it too. */
  batch: number;
  /** Frames of the naive loop on the fastest engine. */
  naiveFrames: number;
}

/** The rounds' measurements, and the frame counts of the last round (the median rows show them). */
export interface PairedRounds {
  rounds: BenchRound[];
  frames: { inference: number; jsonl: number; video: number; naive: number };
}

/** One round: inference-only at the best batch, the pipeline -> JSONL, -> JSONL + MP4, then the naive loop, with the round's ratios. */
async function runRound(s: RoundSetup): Promise<{ round: BenchRound; frames: PairedRounds['frames'] }> {
  const inf = await inferenceOnly(s.detector, s.frames, s.batch);
  const pj = await run(s.input, { jsonl: path.join(s.outDir, 'bench.jsonl'), batch: s.batch, threads: s.threads });
  const pv = await run(s.input, { jsonl: path.join(s.outDir, 'bench-video.jsonl'), video: path.join(s.outDir, 'bench.mp4'), batch: s.batch, threads: s.threads });
  const naiveMs = await naiveLoop(s.input, s.info, oneFrameAtATime(s.detector), s.naiveFrames, path.join(s.outDir, 'naive.mp4'));
  // The slower ceiling bounds the pipeline: it can neither decode nor infer faster than these.
  const ceiling = Math.min(s.decodeFps, inf.fps);
  const naiveFps = s.naiveFrames / (naiveMs / 1000);
  return {
    round: {
      inference_fps: inf.fps,
      ceiling_fps: round(ceiling, 2),
      jsonl_fps: round(pj.fps, 2),
      video_fps: round(pv.fps, 2),
      naive_fps: round(naiveFps, 2),
      jsonl_vs_ceiling: round(pj.fps / ceiling, 3),
      video_vs_ceiling: round(pv.fps / ceiling, 3),
      video_vs_naive_fast: round(pv.fps / naiveFps, 3),
    },
    frames: { inference: inf.frames, jsonl: pj.frames, video: pv.frames, naive: s.naiveFrames },
  };
}

/** Runs `rounds` rounds one after the other, each a ceiling paired with the runs compared with it. */
export async function runPairedRounds(s: RoundSetup, rounds: number, log: (line: string) => void): Promise<PairedRounds> {
  const out: PairedRounds = { rounds: [], frames: { inference: 0, jsonl: 0, video: 0, naive: 0 } };
  for (let k = 1; k <= rounds; k++) {
    log(`round ${k}/${rounds}: inference-only (batch ${s.batch}), pipeline -> JSONL, pipeline -> JSONL + MP4, naive loop`);
    const r = await runRound(s);
    out.rounds.push(r.round);
    out.frames = r.frames;
  }
  return out;
}

/** The median over the rounds of one measurement. */
export function medianOf(rounds: readonly BenchRound[], key: keyof BenchRound): number {
  return median(rounds.map((r) => r[key]));
}

/** The four paired rows (inference-only, pipeline -> JSONL, -> JSONL + MP4, naive loop), at the rounds' medians, with their spread when there are several. */
export function pairedRows(p: PairedRounds, batch: number, engineName: string): BenchRow[] {
  const n = p.rounds.length;
  const medianRow = (name: string, key: keyof BenchRound, frames: number): BenchRow => {
    const v = p.rounds.map((r) => r[key]);
    const fps = medianOf(p.rounds, key);
    return { name, frames, seconds: round(frames / fps, 3), fps: round(fps, 2), ...(n > 1 ? { note: `median of ${n}, ${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)}` } : {}) };
  };
  return [
    medianRow(`inference only, batch ${batch} (${engineName}), paired with each round`, 'inference_fps', p.frames.inference),
    medianRow(`pipeline -> JSONL (batch ${batch})`, 'jsonl_fps', p.frames.jsonl),
    medianRow(`pipeline -> JSONL + MP4 (batch ${batch})`, 'video_fps', p.frames.video),
    medianRow(`naive loop (${engineName}, decode->detect->draw->write)`, 'naive_fps', p.frames.naive),
  ];
}
