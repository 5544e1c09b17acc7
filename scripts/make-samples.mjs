#!/usr/bin/env node
// Makes the sample media: samples/people.mp4 (1280x720, 25 fps, 10 s, H.264 yuv420p: the six
// face-api demo photos, ~1.7 s each, slowly panned so the faces move) and samples/people.jpg
// (a still of the first photo). Plain Node ESM so it runs right after `npm ci`.
//
// Usage: node scripts/make-samples.mjs [outDir] [--force] [--seconds N]
//   outDir     where to write (default: <repo>/samples)
//   --force    rebuild even if the outputs are up to date
//   --seconds  video length (default 10; also SAMPLES_SECONDS), for quick tests
// ffmpeg: $FFMPEG_PATH, else @ffmpeg-installer/ffmpeg; ffprobe likewise ($FFPROBE_PATH).

import { spawn } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const SCRIPT = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SCRIPT), '..');

const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 25;
const DEFAULT_SECONDS = 10;
/** Each photo is scaled to cover this canvas, larger than the output, and the crop pans across it. */
const COVER_W = 1440;
const COVER_H = 810;
const PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => `sample${i}.jpg`);

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { outDir: path.join(REPO, 'samples'), force: false, seconds: Number(process.env.SAMPLES_SECONDS ?? DEFAULT_SECONDS) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') opts.force = true;
    else if (a === '--seconds') opts.seconds = Number(argv[++i]);
    else if (a.startsWith('--seconds=')) opts.seconds = Number(a.slice('--seconds='.length));
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (usage: make-samples.mjs [outDir] [--force] [--seconds N])`);
    else opts.outDir = path.resolve(a);
  }
  // At least one frame per photo.
  if (!(Number.isFinite(opts.seconds) && opts.seconds * FPS >= PHOTOS.length)) {
    throw new UsageError(`--seconds / SAMPLES_SECONDS must be a number >= ${PHOTOS.length / FPS}, received ${opts.seconds}`);
  }
  return opts;
}

function binary(envName, pkg) {
  if (process.env[envName]) return process.env[envName];
  try {
    return require(pkg).path;
  } catch {
    throw new Error(`no ${pkg} binary for this platform; set ${envName}`);
  }
}

function photoDir() {
  try {
    return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  } catch {
    throw new Error('the sample photos come from @vladmandic/face-api (a dev dependency); run npm ci in the ssdpipe repo');
  }
}

/** Runs a tool; rejects with its last stderr line. */
function run(bin, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err = (err + c).slice(-4096)));
    child.on('error', (e) => reject(new Error(`cannot run ${bin}: ${e.code ?? e.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      const last = err.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).pop() ?? '';
      reject(new Error(`${path.basename(bin)} exited with code ${code}${last ? `: ${last}` : ''}`));
    });
  });
}

/** Frames per photo: the total split as evenly as possible, earlier photos get the remainder. */
function segmentFrames(total, n) {
  const base = Math.floor(total / n);
  return Array.from({ length: n }, (_, i) => base + (i < total % n ? 1 : 0));
}

function videoArgs(photos, frames, out) {
  const inputs = [];
  const chains = [];
  photos.forEach((photo, i) => {
    const n = frames[i];
    const last = Math.max(1, n - 1);
    // Pan across the whole extra width, alternating direction, and drift a little downwards in
    // the upper part of the photo, where the faces are. `n` (frame number) keeps it deterministic.
    const x = i % 2 === 0 ? `(iw-ow)*n/${last}` : `(iw-ow)*(1-n/${last})`;
    const y = `(ih-oh)*(0.05+0.2*n/${last})`;
    inputs.push('-loop', '1', '-framerate', String(FPS), '-t', (n / FPS).toFixed(3), '-i', photo);
    chains.push(
      `[${i}:v]scale=${COVER_W}:${COVER_H}:force_original_aspect_ratio=increase:flags=bicubic,setsar=1,` +
        `crop=${WIDTH}:${HEIGHT}:x='${x}':y='${y}',format=yuv420p,trim=end_frame=${n},setpts=PTS-STARTPTS[v${i}]`,
    );
  });
  const concat = `${photos.map((_, i) => `[v${i}]`).join('')}concat=n=${photos.length}:v=1:a=0[out]`;
  const total = frames.reduce((a, b) => a + b, 0);
  return [
    '-hide_banner', '-nostats', '-loglevel', 'error', '-y',
    ...inputs,
    '-filter_complex', [...chains, concat].join(';'),
    '-map', '[out]', '-frames:v', String(total), '-r', String(FPS),
    // Fixed threads and bitexact muxing: the same ffmpeg build makes the same bytes on any machine.
    '-c:v', 'libx264', '-preset', 'fast', '-crf', '20', '-pix_fmt', 'yuv420p', '-threads', '2',
    '-movflags', '+faststart', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1',
    '-f', 'mp4', out,
  ];
}

function stillArgs(photo, out) {
  return [
    '-hide_banner', '-nostats', '-loglevel', 'error', '-y', '-i', photo,
    '-vf', `scale=${WIDTH}:-2:flags=bicubic,setsar=1`, '-frames:v', '1', '-q:v', '3',
    '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1', '-f', 'image2', '-c:v', 'mjpeg', out,
  ];
}

async function mtime(file) {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

/** True if `out` exists, is newer than every input and (for the video) has the expected stream. */
async function upToDate(out, inputs, check) {
  const t = await mtime(out);
  if (t === null) return false;
  for (const input of inputs) if ((await mtime(input)) > t) return false;
  if (!check) return true;
  try {
    return await check(out);
  } catch {
    return false;
  }
}

/** Writes through a temporary file, so an interrupted run never leaves a broken sample behind. */
async function produce(ffmpeg, makeArgs, out) {
  const partial = `${out}.partial-${process.pid}${path.extname(out)}`;
  try {
    await run(ffmpeg, makeArgs(partial));
    await rename(partial, out);
  } finally {
    await rm(partial, { force: true });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ffmpeg = binary('FFMPEG_PATH', '@ffmpeg-installer/ffmpeg');
  const dir = photoDir();
  const photos = PHOTOS.map((p) => path.join(dir, p));
  for (const p of photos) if ((await mtime(p)) === null) throw new Error(`missing sample photo ${p}`);
  try {
    await mkdir(opts.outDir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create ${opts.outDir}: ${e.code ?? e.message}`);
  }

  const totalFrames = Math.round(opts.seconds * FPS);
  const frames = segmentFrames(totalFrames, photos.length);
  const video = path.join(opts.outDir, 'people.mp4');
  const still = path.join(opts.outDir, 'people.jpg');
  const shown = (f) => {
    const rel = path.relative(process.cwd(), f);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : f;
  };

  const videoMatches = async (file) => {
    const ffprobe = binary('FFPROBE_PATH', '@ffprobe-installer/ffprobe');
    const out = await run(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_frames,r_frame_rate', '-of', 'json', file]);
    const s = JSON.parse(out).streams?.[0];
    return s?.width === WIDTH && s?.height === HEIGHT && Number(s?.nb_frames) === totalFrames && s?.r_frame_rate === `${FPS}/1`;
  };

  if (!opts.force && (await upToDate(video, [...photos, SCRIPT], videoMatches))) {
    console.log(`${shown(video)} is up to date`);
  } else {
    await produce(ffmpeg, (out) => videoArgs(photos, frames, out), video);
    console.log(`wrote ${shown(video)} (${WIDTH}x${HEIGHT}, ${FPS} fps, ${totalFrames} frames, H.264)`);
  }
  if (!opts.force && (await upToDate(still, [photos[0], SCRIPT]))) {
    console.log(`${shown(still)} is up to date`);
  } else {
    await produce(ffmpeg, (out) => stillArgs(photos[0], out), still);
    console.log(`wrote ${shown(still)} (${WIDTH} px wide, from ${PHOTOS[0]})`);
  }
}

main().catch((err) => {
  console.error(`make-samples: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
