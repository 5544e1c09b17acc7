import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnFfmpeg } from '../src/ffmpeg/ffmpeg-process.js';
import type { MediaInfo } from '../src/sources/probe.js';

// The repository root, one level above bench/, where scripts/make-samples.mjs lives.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Seconds of the default clip: long enough that start-up and the final flush do not weigh on the pipeline rows. */
export const SAMPLE_SECONDS = 30;

/** Makes the default input, outDir/people.mp4, with the sample script (deterministic: the same content every time). */
export async function makeSampleClip(outDir: string): Promise<string> {
  const file = path.join(outDir, 'people.mp4');
  await new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'scripts', 'make-samples.mjs'), outDir, '--seconds', String(SAMPLE_SECONDS)], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`make-samples.mjs exited with ${code}`))));
  });
  return file;
}

/** The input looped by stream copy until it has at least `frames` frames (made once, then reused from outDir). */
export async function loopClip(input: string, info: MediaInfo, frames: number, outDir: string): Promise<string> {
  // Stream copy, not a re-encode: making a 10,000-frame input must not take longer than the soak.
  const per = info.frameCount ?? 250;
  const file = path.join(outDir, `looped-${frames}.mp4`);
  if (!existsSync(file)) {
    const p = spawnFfmpeg(['-y', '-loglevel', 'error', '-stream_loop', String(Math.ceil(frames / per)), '-i', input, '-c', 'copy', file], { stdin: 'ignore' });
    p.stdout.resume();
    await p.done;
  }
  return file;
}
