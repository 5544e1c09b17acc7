import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FFMPEG_BIN } from '../test/helpers/media.js';

// `npm run bench:memory`: peak and running RSS of the ssdpipe command (bin/ssdpipe, as a user
// runs it; build first) on inputs that could exhaust memory if frames were not bounded in flight:
//   4k      3840x2160, 300 frames at 25 fps (a pan over a demo photo with faces), --jsonl
//   4k-mp4  the same with the annotated 4K MP4 too (--video), which keeps its own frame copies
//   2h      a 2-hour input, 160x90 at 1 fps (7,200 frames of lavfi testsrc2), --jsonl
// Peak RSS is VmHWM of the ssdpipe process read from /proc/<pid>/status until it exits; RSS over
// time is VmRSS sampled every 250 ms (printed at tenths of the run); the ffmpeg children (decoder,
// encoder) are sampled too, summed, and reported apart. Linux only (/proc). `--only 4k,2h` picks runs.

const exec = promisify(execFile);
const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'ssdpipe');
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
const SAMPLE_MS = 250;
const MIB = 1024;

interface Sample {
  /** Seconds since the start. */
  t: number;
  /** RSS of the ssdpipe process, and of its ffmpeg children together, in kB. */
  rssKb: number;
  childrenKb: number;
}

interface MemoryRun {
  name: string;
  input: string;
  frames: number;
  seconds: number;
  peakKb: number;
  childrenPeakKb: number;
  samples: Sample[];
}

const only = ((): string[] | null => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1].split(',') : null;
})();

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build first');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-bench-memory-'));
  try {
    const runs: MemoryRun[] = [];
    const want = (name: string): boolean => only === null || only.includes(name);
    if (want('4k') || want('4k-mp4')) {
      const clip = await make4k(dir);
      if (want('4k')) runs.push(await measure('4k', clip, ['--jsonl', path.join(dir, '4k.jsonl')]));
      if (want('4k-mp4')) runs.push(await measure('4k-mp4', clip, ['--jsonl', path.join(dir, '4k-mp4.jsonl'), '--video', path.join(dir, '4k-out.mp4')]));
    }
    if (want('2h')) runs.push(await measure('2h', await makeTwoHours(dir), ['--jsonl', path.join(dir, '2h.jsonl')]));
    for (const r of runs) print(r);
    console.log(JSON.stringify(runs.map(({ samples, ...r }) => ({ ...r, rssMiB: tenths(samples).map((s) => [s.t, mib(s.rssKb)]) }))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** 300 frames of 3840x2160: the photo scaled a little larger and panned 2 px a frame (moving faces). */
async function make4k(dir: string): Promise<string> {
  const file = path.join(dir, '4k.mp4');
  await ffmpeg([
    '-loop', '1', '-framerate', '25', '-i', PHOTO, '-vf', 'scale=4480:2520,crop=3840:2160:x=2*n:y=180', '-frames:v', '300',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file,
  ]);
  return file;
}

/** Two hours at 1 fps and 160x90: 7,200 frames, cheap to make and to decode. */
async function makeTwoHours(dir: string): Promise<string> {
  const file = path.join(dir, '2h.mp4');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=1', '-frames:v', '7200', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
  return file;
}

async function ffmpeg(args: string[]): Promise<void> {
  await exec(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** Runs bin/ssdpipe detect on `input` with `outputs`, sampling its memory until it exits. */
async function measure(name: string, input: string, outputs: string[]): Promise<MemoryRun> {
  process.stderr.write(`${name}: ${path.basename(input)} (${((await stat(input)).size / 2 ** 20).toFixed(1)} MiB) ...\n`);
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  const child = spawn(BIN, ['detect', input, '-q', '--stats', path.join(path.dirname(input), `${name}.stats.json`), ...outputs], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid!;
  const t0 = Date.now();
  const samples: Sample[] = [];
  let peakKb = 0;
  let childrenPeakKb = 0;
  const timer = setInterval(() => {
    const status = procStatus(pid);
    if (!status?.VmRSS) return; // gone, or a zombie (no memory left to report)
    peakKb = Math.max(peakKb, status.VmHWM ?? 0);
    const childrenKb = childPids(pid).reduce((sum, c) => sum + (procStatus(c)?.VmRSS ?? 0), 0);
    childrenPeakKb = Math.max(childrenPeakKb, childrenKb);
    samples.push({ t: (Date.now() - t0) / 1000, rssKb: status.VmRSS, childrenKb });
  }, SAMPLE_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`${name}: ssdpipe exited with ${code}`);
  const stats = JSON.parse(readFileSync(path.join(path.dirname(input), `${name}.stats.json`), 'utf8')) as { frames: number };
  return { name, input: path.basename(input), frames: stats.frames, seconds: (Date.now() - t0) / 1000, peakKb, childrenPeakKb, samples };
}

/** The kB fields of /proc/<pid>/status (VmRSS, VmHWM ...), or null once the process is gone. */
function procStatus(pid: number): Record<string, number> | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Object.fromEntries([...text.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1], Number(m[2])]));
  } catch {
    return null;
  }
}

/** Pids whose parent is `pid` (from /proc/<n>/stat). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/** The samples nearest to 10%, 20% ... 100% of the run. */
function tenths(samples: readonly Sample[]): Sample[] {
  if (samples.length === 0) return [];
  const end = samples[samples.length - 1].t;
  return Array.from({ length: 10 }, (_, i) => samples.reduce((best, s) => (Math.abs(s.t - (end * (i + 1)) / 10) < Math.abs(best.t - (end * (i + 1)) / 10) ? s : best)));
}

const mib = (kb: number): number => Math.round((kb / MIB) * 10) / 10;

function print(r: MemoryRun): void {
  const half = r.samples.filter((s) => s.t >= r.seconds / 2);
  const second = half.length ? Math.max(...half.map((s) => s.rssKb)) : 0;
  const first = Math.max(0, ...r.samples.filter((s) => s.t < r.seconds / 2).map((s) => s.rssKb));
  console.log(
    `${r.name}: ${r.frames} frames in ${r.seconds.toFixed(1)} s; ssdpipe peak RSS (VmHWM) ${mib(r.peakKb)} MiB; ` +
      `max RSS first half ${mib(first)} MiB, second half ${mib(second)} MiB; ffmpeg children peak ${mib(r.childrenPeakKb)} MiB`,
  );
  console.log(`  RSS over time: ${tenths(r.samples).map((s) => `${s.t.toFixed(0)} s ${mib(s.rssKb).toFixed(0)}`).join(', ')} (MiB)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
