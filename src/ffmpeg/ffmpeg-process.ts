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
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { AbortedError, FfmpegError, type FfmpegStage } from '../errors.js';
import { resolveFfmpegTool, type FfmpegTool, searchPath, type ResolvedTool } from './ffmpeg-path.js';

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
  /** What the process does; its FfmpegError carries it (a failure while decoding exits 4). */
  during?: FfmpegStage;
  /** Called with each line ffmpeg writes to stderr (without the line end), e.g. to count decoding errors. */
  onStderrLine?: (line: string) => void;
  /** Extra output pipes on fds 3, 4 ... (ffmpeg writes to them as `pipe:3` ...); see `pipes`. */
  extraPipes?: number;
}

/** A running ffmpeg we own. */
export interface FfmpegProcess {
  /** OS process id (undefined if the spawn failed). */
  readonly pid: number | undefined;
  /** ffmpeg's stdout; pausing it makes ffmpeg block on write (backpressure). */
  readonly stdout: Readable;
  /** ffmpeg's stdin, or null when spawned with stdin 'ignore'. */
  readonly stdin: Writable | null;
  /** The extra output pipes (fd 3, 4 ...) asked for with `extraPipes`; read them, or ffmpeg blocks. */
  readonly pipes: readonly Readable[];
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
  /** Bytes written to ffprobe's stdin, which is then closed (probing `pipe:0`, e.g. standard input's head). */
  input?: Uint8Array;
}

/** Starts ffmpeg with exactly these arguments as a process owned by the caller. */
export function spawnFfmpeg(args: readonly string[], options: SpawnFfmpegOptions = {}): FfmpegProcess {
  const binary = resolveFfmpegTool('ffmpeg', options.ffmpegPath).path;
  return spawnOwned('ffmpeg', binary, args, options);
}

/** Runs ffprobe to completion and returns its stdout; a non-zero exit rejects with FfmpegError. */
export async function runFfprobe(args: readonly string[], options: RunFfprobeOptions = {}): Promise<string> {
  const resolved = resolveFfmpegTool('ffprobe', options.ffprobePath);
  try {
    return await probeWith(resolved.path, args, options);
  } catch (err) {
    // The ffprobe that @ffprobe-installer ships (a 2023 static build) crashes with SIGSEGV on
    // MPEG-TS here; one the user did not choose is then replaced by the ffprobe on PATH, if any.
    const fallback = crashFallback(resolved, err);
    if (!fallback) throw err;
    return probeWith(fallback, args, options);
  }
}

function probeWith(binary: string, args: readonly string[], options: RunFfprobeOptions): Promise<string> {
  const proc = spawnOwned('ffprobe', binary, args, { signal: options.signal, stdin: options.input ? 'pipe' : 'ignore', during: 'probing' });
  // ffprobe may stop reading once it has seen enough: the EPIPE that follows is ignored in spawnOwned.
  if (options.input) proc.stdin!.end(options.input);
  return collect(proc);
}

/** The ffprobe on PATH, when the automatically chosen one crashed (killed by a signal it raised itself). */
export function crashFallback(resolved: ResolvedTool, err: unknown): string | null {
  if (resolved.source === 'option' || resolved.source === 'env' || resolved.source === 'PATH') return null;
  if (!(err instanceof FfmpegError) || !/killed by SIG(SEGV|BUS|ILL|FPE|ABRT)\b/.test(err.message)) return null;
  const onPath = searchPath('ffprobe');
  return onPath && onPath !== resolved.path ? onPath : null;
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
  if (signal?.aborted) throw new AbortedError(`${tool} was not started: the run was aborted`);
  const child = spawn(binary, [...args], {
    stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe', ...Array.from({ length: options.extraPipes ?? 0 }, () => 'pipe' as const)],
    windowsHide: true,
  });
  const pipes = child.stdio.slice(3) as Readable[];
  // Writing 'q' races with ffmpeg exiting on its own; EPIPE on stdin is then expected and harmless.
  child.stdin?.on('error', () => {});
  // stdout and stderr are always pipes here (stdio above), so these are never null.
  const stdout = child.stdout!;
  const tail = stderrTail(child.stderr!, options.onStderrLine);
  const exit = watchExit(child);

  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    void stop();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const stopper = gracefulStop(child, exit, options.graceMs ?? STOP_GRACE_MS);
  const done = exit.state.then(async (state) => {
    // After a spawn error the stdio streams are destroyed; otherwise wait so the tail is complete.
    if (!state.error) await tail.closed;
    signal?.removeEventListener('abort', onAbort);
    if (aborted) throw new AbortedError(`${tool} was stopped: the run was aborted`);
    if (!stopper.requested()) throwOnFailure(tool, binary, state, tail.text(), options.during);
  });
  // Callers may never await `done` (e.g. after stop()); don't let its rejection go unhandled.
  done.catch(() => {});
  const stop = (): Promise<void> => stopper.stop(done);

  return { pid: child.pid, stdout, stdin: child.stdin, pipes, done, stop, stderrTail: tail.text };
}

/** Keeps the last STDERR_TAIL_CHARS of a process's stderr, and hands each whole line to `onLine`. */
function stderrTail(stderr: Readable, onLine?: (line: string) => void): { text: () => string; closed: Promise<void> } {
  let tail = '';
  let partial = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (s: string) => {
    tail = (tail + s).slice(-STDERR_TAIL_CHARS);
    if (!onLine) return;
    const lines = (partial + s).split(/\r?\n|\r/);
    partial = lines.pop()!.slice(-STDERR_TAIL_CHARS); // a "line" that never ends is not a message
    for (const line of lines) if (line) onLine(line);
  });
  const closed = new Promise<void>((resolve) =>
    stderr.once('close', () => {
      if (partial && onLine) onLine(partial);
      resolve();
    }),
  );
  return { text: () => tail, closed };
}

/** How the child ended (a spawn error counts as an exit), and a way to wait for it with a limit. */
interface ExitWatch {
  readonly state: Promise<ExitState>;
  hasExited(): boolean;
  /** Resolves true if the child exits within ms, else false. */
  within(ms: number): Promise<boolean>;
}

function watchExit(child: ChildProcess): ExitWatch {
  let hasExited = false;
  const state = new Promise<ExitState>((resolve) => {
    child.on('error', (error) => {
      hasExited = true;
      resolve({ code: null, signal: null, error });
    });
    child.once('exit', (code, sig) => {
      hasExited = true;
      resolve({ code, signal: sig });
    });
  });
  const within = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      void state.then(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  return { state, hasExited: () => hasExited, within };
}

/** Throws the FfmpegError that a failed start or a non-zero exit means. */
function throwOnFailure(tool: FfmpegTool, binary: string, state: ExitState, tail: string, during: FfmpegStage | undefined): void {
  if (state.error) {
    throw new FfmpegError(`could not start ${tool} (${binary}): ${state.error.message}`, '', {
      cause: state.error,
      hint: `check that ${binary} is an executable ${tool} (run \`ssdpipe doctor\`)`,
    });
  }
  if (state.code !== 0) {
    const how = state.code === null ? `was killed by ${state.signal}` : `exited with code ${state.code}`;
    throw new FfmpegError(`${tool} ${how}`, tail, {
      during,
      hint: `the ${tool} stderr tail is attached to this error (stderrTail); run with the same input by hand to see more`,
    });
  }
}

/**
 * Stops a child the way ffmpeg finalizes its outputs: 'q' on stdin, then SIGTERM, then SIGKILL,
 * each after graceMs. Idempotent; `requested()` says whether a stop was asked for (so that the
 * exit it causes is not reported as a failure).
 */
function gracefulStop(child: ChildProcess, exit: ExitWatch, graceMs: number): { stop(done: Promise<void>): Promise<void>; requested(): boolean } {
  let stopping: Promise<void> | undefined;
  let requested = false;
  return {
    requested: () => requested,
    stop(done) {
      stopping ??= (async () => {
        requested = true;
        if (exit.hasExited()) return void (await done.catch(() => {}));
        // A paused reader keeps ffmpeg blocked in write(), where it never looks at stdin.
        const stdout = child.stdout!;
        for (const out of [stdout, ...(child.stdio.slice(3) as Readable[])]) {
          if (!out) continue;
          out.unpipe();
          out.removeAllListeners('data');
          out.resume();
        }
        let graceful = false;
        if (child.stdin && child.stdin.writable) {
          child.stdin.write('q');
          child.stdin.end();
          graceful = await exit.within(graceMs);
        }
        if (!graceful) {
          child.kill('SIGTERM');
          if (!(await exit.within(graceMs))) child.kill('SIGKILL');
        }
        await done.catch(() => {});
      })();
      return stopping;
    },
  };
}
