/**
 * Runs the built ssdpipe command (bin/ssdpipe -> dist/cli.js; npm test builds first) as a user
 * would, and reads media back with ffprobe, for end-to-end tests.
 */
import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FFPROBE_BIN } from './media.js';

const exec = promisify(execFile);

/** The repository's root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI; tests fail early with a hint when it is missing. */
export const CLI = path.join(ROOT, 'dist', 'cli.js');
const BIN = path.join(ROOT, 'bin', 'ssdpipe');

/** Exit code (null when killed by a signal) and the whole output of one run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Throws unless dist/cli.js exists. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it first)`);
}

/**
 * Starts bin/ssdpipe with `args`; the promise resolves when it exits, `child` is the process.
 * `stdinFile` is piped into its standard input (else stdin is /dev/null).
 */
export function cli(
  args: string[],
  opts: { onStdout?: (s: string) => void; onStderr?: (s: string) => void; env?: Record<string, string>; stdinFile?: string } = {},
): Promise<CliResult> & { child: ReturnType<typeof spawn> } {
  // The launcher execs `node` from PATH: put this node first so both run the same one.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, ...opts.env };
  if (!opts.env?.SSDPIPE_DEBUG) delete env.SSDPIPE_DEBUG;
  const child = spawn(BIN, args, { cwd: ROOT, env, stdio: [opts.stdinFile ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (opts.stdinFile) {
    child.stdin!.on('error', () => undefined); // ssdpipe may stop reading before the end (EPIPE)
    createReadStream(opts.stdinFile).pipe(child.stdin!);
  }
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    opts.onStdout?.(stdout);
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    opts.onStderr?.(stderr);
  });
  const p = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) as Promise<CliResult> & {
    child: ReturnType<typeof spawn>;
  };
  p.child = child;
  return p;
}

/** One stream of a media file as ffprobe reports it (-count_packets: nb_read_packets is counted, not declared). */
export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  duration?: string;
  nb_read_packets?: string;
}

/** Every stream of a file, with packets counted (so a file ffprobe cannot read throws). */
export async function probeStreams(file: string): Promise<ProbedStream[]> {
  const { stdout } = await exec(FFPROBE_BIN, [
    '-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,width,height,duration,nb_read_packets', '-of', 'json', file,
  ]);
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
}

/** The JSON records of a JSONL text. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Pids of live ffmpeg processes (not zombies) with one of `args` in an argument (Linux /proc). */
export function ffmpegPidsWithArg(...args: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (path.basename(argv[0]) === 'ffmpeg' && argv.some((a) => args.some((x) => a.includes(x))) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM ...), or null once the process is gone. */
export function procStatusKb(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Bytes a process has written so far (wchar of /proc/<pid>/io: pipes included), or null once it is gone. */
export function bytesWritten(pid: number): number | null {
  try {
    const m = /^wchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
