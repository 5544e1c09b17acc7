/**
 * The one module that starts ffmpeg and ffprobe. Everything else calls spawnFfmpeg / runFfprobe,
 * so the process layer can be swapped without touching sources or sinks.
 *
 * Why node:child_process and not fluent-ffmpeg: fluent-ffmpeg (archived upstream in 2025) builds
 * its own argument list around inputs/outputs rather than taking ours verbatim, runs
 * `ffmpeg -formats/-codecs/-encoders` before the first command, exposes the child only after an
 * asynchronous 'start' event, and kills ffmpeg itself (SIGTERM 20 ms after a piped output closes,
 * SIGKILL on output errors), which fights the q -> SIGTERM -> SIGKILL shutdown we need. Its
 * ffprobe wrapper parses the key=value format instead of letting us ask for JSON. What we need
 * (verbatim args, stdout with backpressure, stdin for 'q', the pid, the stderr tail) is a few
 * lines of spawn().
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AbortedError, FfmpegError } from '../errors.js';
import { resolveFfmpegTool, type FfmpegTool } from './ffmpeg-path.js';

/** How long stop() waits after 'q' before SIGTERM, and after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 1000;

/** How much of the end of stderr is kept for error messages. */
export const STDERR_TAIL_CHARS = 4096;

/** Options for spawnFfmpeg. */
export interface SpawnFfmpegOptions {
  /** Explicit ffmpeg binary (path or bare name); otherwise resolved by resolveFfmpegTool. */
  ffmpegPath?: string;
  /** Aborting stops the process (as stop() does) and makes `done` reject with AbortedError. */
  signal?: AbortSignal;
  /** 'pipe' (default) keeps stdin open for input data and for the 'q' that stops ffmpeg. */
  stdin?: 'pipe' | 'ignore';
  /** Grace period of each stop step, in ms (default STOP_GRACE_MS). */
  graceMs?: number;
}

/** A running ffmpeg we own. */
export interface FfmpegProcess {
  /** OS process id (undefined if the spawn failed). */
  readonly pid: number | undefined;
  /** ffmpeg's stdout; pausing it makes ffmpeg block on write (backpressure). */
  readonly stdout: Readable;
  /** ffmpeg's stdin, or null when spawned with stdin 'ignore'. */
  readonly stdin: Writable | null;
  /**
   * Settles once the process has exited and its stderr is drained. Resolves on exit code 0 or
   * after stop(); rejects with FfmpegError on a non-zero exit, a signal we did not send, or a
   * failed spawn, and with AbortedError if the signal aborted it.
   */
  readonly done: Promise<void>;
  /**
   * Stops the process: drains and discards stdout (so ffmpeg is not stuck writing to a paused
   * pipe, and any 'data' listeners are detached), sends 'q' on stdin, then SIGTERM after the grace
   * period, then SIGKILL. Resolves once the process is gone; never rejects. Idempotent.
   * To let ffmpeg finish normally (e.g. an encoder finalizing a file), end stdin and await `done`.
   */
  stop(): Promise<void>;
  /** The last STDERR_TAIL_CHARS characters ffmpeg wrote to stderr. */
  stderrTail(): string;
}

/** Options for runFfprobe. */
export interface RunFfprobeOptions {
  /** Explicit ffprobe binary (path or bare name). */
  ffprobePath?: string;
  signal?: AbortSignal;
}

/** Starts ffmpeg with exactly these arguments as a process owned by the caller. */
export function spawnFfmpeg(args: readonly string[], options: SpawnFfmpegOptions = {}): FfmpegProcess {
  const binary = resolveFfmpegTool('ffmpeg', options.ffmpegPath).path;
  return spawnOwned('ffmpeg', binary, args, options);
}

/** Runs ffprobe to completion and returns its stdout; a non-zero exit rejects with FfmpegError. */
export async function runFfprobe(args: readonly string[], options: RunFfprobeOptions = {}): Promise<string> {
  const binary = resolveFfmpegTool('ffprobe', options.ffprobePath).path;
  return collect(spawnOwned('ffprobe', binary, args, { signal: options.signal, stdin: 'ignore' }));
}

const versions = new Map<string, Promise<string>>();

/** `ffmpeg -version` output (cached per binary), for choosing options the build supports. */
export function ffmpegVersion(ffmpegPath?: string): Promise<string> {
  const binary = resolveFfmpegTool('ffmpeg', ffmpegPath).path;
  let v = versions.get(binary);
  if (!v) {
    v = collect(spawnOwned('ffmpeg', binary, ['-hide_banner', '-version'], { stdin: 'ignore' }));
    versions.set(binary, v);
    v.catch(() => versions.delete(binary));
  }
  return v;
}

async function collect(proc: FfmpegProcess): Promise<string> {
  const chunks: Buffer[] = [];
  proc.stdout.on('data', (c: Buffer) => chunks.push(c));
  await proc.done;
  return Buffer.concat(chunks).toString('utf8');
}

type ExitState = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

function spawnOwned(tool: FfmpegTool, binary: string, args: readonly string[], options: SpawnFfmpegOptions): FfmpegProcess {
  const { signal } = options;
  const graceMs = options.graceMs ?? STOP_GRACE_MS;
  if (signal?.aborted) throw new AbortedError(`${tool} was not started: the run was aborted`);

  const child = spawn(binary, [...args], {
    stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  // stdout and stderr are always pipes here (stdio above), so these are never null.
  const stdout = child.stdout!;
  const stderr = child.stderr!;

  let tail = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (s: string) => {
    tail = (tail + s).slice(-STDERR_TAIL_CHARS);
  });
  // Writing 'q' races with ffmpeg exiting on its own; EPIPE on stdin is then expected and harmless.
  child.stdin?.on('error', () => {});

  let hasExited = false;
  const exited = new Promise<ExitState>((resolve) => {
    child.on('error', (error) => {
      hasExited = true;
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, sig) => {
      hasExited = true;
      resolve({ code, signal: sig });
    });
  });
  const stderrClosed = new Promise<void>((resolve) => stderr.once('close', () => resolve()));

  let stopRequested = false;
  let aborted = false;
  let stopping: Promise<void> | undefined;

  const onAbort = (): void => {
    aborted = true;
    void stop();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const done = exited.then(async (state) => {
    // After a spawn error the stdio streams are destroyed; otherwise wait so the tail is complete.
    if (!state.error) await stderrClosed;
    signal?.removeEventListener('abort', onAbort);
    if (aborted) throw new AbortedError(`${tool} was stopped: the run was aborted`);
    if (stopRequested) return;
    if (state.error) {
      throw new FfmpegError(`could not start ${tool} (${binary}): ${state.error.message}`, '', {
        cause: state.error,
        hint: `check that ${binary} is an executable ${tool} (run \`ssdpipe doctor\`)`,
      });
    }
    if (state.code !== 0) {
      const how = state.code === null ? `was killed by ${state.signal}` : `exited with code ${state.code}`;
      throw new FfmpegError(`${tool} ${how}`, tail, {
        hint: `the ${tool} stderr tail is attached to this error (stderrTail); run with the same input by hand to see more`,
      });
    }
  });
  // Callers may never await `done` (e.g. after stop()); don't let its rejection go unhandled.
  done.catch(() => {});

  const exitWithin = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      void exited.then(() => {
        clearTimeout(t);
        resolve(true);
      });
    });

  function stop(): Promise<void> {
    stopping ??= (async () => {
      stopRequested = true;
      if (hasExited) return void (await done.catch(() => {}));
      // A paused reader keeps ffmpeg blocked in write(), where it never looks at stdin.
      stdout.unpipe();
      stdout.removeAllListeners('data');
      stdout.resume();
      let graceful = false;
      if (child.stdin && child.stdin.writable) {
        child.stdin.write('q');
        child.stdin.end();
        graceful = await exitWithin(graceMs);
      }
      if (!graceful) {
        child.kill('SIGTERM');
        if (!(await exitWithin(graceMs))) child.kill('SIGKILL');
      }
      await done.catch(() => {});
    })();
    return stopping;
  }

  return {
    pid: child.pid,
    stdout,
    stdin: child.stdin,
    done,
    stop,
    stderrTail: () => tail,
  };
}
