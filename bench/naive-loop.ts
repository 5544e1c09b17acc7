import path from 'node:path';
import type { FrameDetections } from '../src/detection.js';
import type { Frame } from '../src/frame.js';
import type { SsdDetector } from '../src/inference/detector.js';
import type { LoadedModel } from '../src/model-io/load-model.js';
import { openAnnotatedVideo } from '../src/sinks/annotated-video.js';
import { fileSource } from '../src/sources/file-source.js';
import { FlowControl } from '../src/sources/flow-control.js';
import type { MediaInfo } from '../src/sources/probe.js';
import { openDetector } from './detector.js';
import { benchRow, type BenchRow } from './result.js';

// The loop a user writes without ssdpipe's pipeline: one frame at a time, each step waiting for
// the one before. The pipeline's speed-up is stated against it.

/** Milliseconds for `frames` frames of the naive loop: decode -> detect -> draw -> write, one frame at a time. */
export async function naiveLoop(input: string, info: MediaInfo, detect: (f: Frame) => Promise<FrameDetections>, frames: number, video: string): Promise<number> {
  // A window of one frame: ffmpeg's next frame is asked for only once this one is written.
  const flow = new FlowControl(1, 0);
  const sink = await openAnnotatedVideo({ path: video, width: info.width, height: info.height, fps: info.fps });
  const t0 = performance.now();
  let n = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let chain = Promise.resolve();
      const sub = fileSource(input, { info, flow }).subscribe({
        next: (f) => {
          chain = chain.then(async () => {
            if (n >= frames) return;
            await sink.write(await detect(f));
            n++;
            if (n >= frames) {
              sub.unsubscribe();
              resolve();
            } else flow.release(1);
          }).catch(reject);
        },
        error: reject,
        complete: () => void chain.then(() => resolve()),
      });
    });
  } finally {
    await sink.close();
  }
  return performance.now() - t0;
}

/** The detector called on one frame at a time, as the naive loop calls it. */
export function oneFrameAtATime(detector: SsdDetector): (f: Frame) => Promise<FrameDetections> {
  return async (f) => (await detector.detect([f]))[0];
}

/** The naive loop on tfjs-wasm with ssdpipe's graph (outDir/naive-wasm.mp4): its row, and its unrounded fps for the ratios. */
export async function naiveWasmLoop(model: LoadedModel, input: string, info: MediaInfo, frames: number, outDir: string): Promise<{ row: BenchRow; fps: number }> {
  // The engine a JS user gets without ONNX Runtime; its own engine, disposed here, so its wasm
  // heap is not shared with the fastest engine's measurements.
  const wasm = await openDetector(model, { engine: 'tfjs', backend: 'wasm' });
  try {
    const ms = await naiveLoop(input, info, oneFrameAtATime(wasm.detector), frames, path.join(outDir, 'naive-wasm.mp4'));
    return { row: benchRow('naive loop (tfjs/wasm, ssdpipe graph)', frames, ms), fps: frames / (ms / 1000) };
  } finally {
    await wasm.engine.dispose();
  }
}
