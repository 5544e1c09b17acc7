import { createRequire } from 'node:module';
import path from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import type { Frame } from '../src/frame.js';
import { fileSource } from '../src/sources/file-source.js';
import type { MediaInfo } from '../src/sources/probe.js';
import { benchRow, type BenchRow } from './result.js';

// face-api's SsdMobilenetv1 is what a JS user reaches for today; one of the throughput targets is
// stated against its per-frame loop. It is loaded with require() at call time: its package main is
// the tfjs-node bundle, so the wasm bundle is picked by path, and a missing optional package must
// skip this row instead of failing the whole benchmark at import.

/** Milliseconds for face-api's SsdMobilenetv1 on tfjs-wasm over `frames`, one at a time; null when face-api or TF.js is not installed. */
export async function faceApiLoop(frames: Frame[]): Promise<number | null> {
  const require = createRequire(import.meta.url);
  let faceapi: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model'));
  } catch {
    return null; // @tensorflow/tfjs (a devDependency) is not installed
  }
  const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const one = async (f: Frame): Promise<void> => {
    const t = faceapi.tf.tensor3d(f.data, [f.height, f.width, 3], 'int32'); // [height, width, 3] rgb24
    await faceapi.detectAllFaces(t, opts);
    t.dispose();
  };
  await one(frames[0]); // warm-up, not timed, like the other measurements
  const t0 = performance.now();
  for (const f of frames) await one(f);
  const ms = performance.now() - t0;
  faceapi.nets.ssdMobilenetv1.dispose();
  return ms;
}

/** face-api's loop over the first `frames` frames of the input: its row and unrounded fps, or null when it could not run. */
export async function faceApiOnInput(input: string, info: MediaInfo, frames: number): Promise<{ row: BenchRow; fps: number } | null> {
  // Decoded up front so the timing covers detection only, as the row's name says.
  const decoded = await lastValueFrom(fileSource(input, { info }).pipe(take(frames), toArray()));
  const ms = await faceApiLoop(decoded);
  if (ms === null) return null;
  return { row: benchRow('face-api SsdMobilenetv1 loop (tfjs/wasm, detect only)', decoded.length, ms), fps: decoded.length / (ms / 1000) };
}
