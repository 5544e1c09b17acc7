/**
 * A camera (or any live input) as an Observable that survives drops: frames, interleaved with a
 * StatusRecord at every state change. Each connection probes the stream (so a new resolution
 * after a reconnect is picked up), runs its own ffmpeg decoding to RGB24 on a pipe, and is torn
 * down when the stream ends, fails, or delivers no frame for the stall timeout; then the source
 * waits out a jittered backoff and connects again, forever unless maxRetries says otherwise.
 *
 * Live frames are never held back: stdout is always read and every frame is emitted as it is cut,
 * so a slow consumer must drop (see operators/freshest-frames.ts) rather than make ffmpeg wait,
 * which would only turn into seconds of lag.
 *
 * Credentials: the source id is the redacted URL (or a given name), and every reason taken from
 * ffmpeg's or ffprobe's stderr goes through redactText. The URL with credentials is only ever in
 * ffmpeg's argument list (and so in the process table, as with any ffmpeg-based reader).
 */
import { Observable, type Subscriber } from 'rxjs';
import { FfmpegError, OptionError, SsdpipeError, lastLine } from '../errors.js';
import { rgbFrameBytes, type Frame } from '../frame.js';
import { passthroughSyncArgs } from './ffmpeg-args.js';
import { resolveFfmpegTool } from '../ffmpeg/ffmpeg-path.js';
import { ffmpegVersion, runFfprobe, spawnFfmpeg, type FfmpegProcess } from '../ffmpeg/ffmpeg-process.js';
import { FrameCutter } from './frame-cutter.js';
import { DEFAULT_IO_TIMEOUT_MS, liveDecodeArgs, liveInputArgs, liveProbeArgs, type RtspTransport } from './live-args.js';
import { classifyInput, redactText, type InputSpec } from './live-input.js';
import { mediaInfoFromProbe, type MediaInfo } from './probe.js';
import { resolveReconnectOptions, SourceStateMachine, type FailureOutcome, type ReconnectOptions, type StatusRecord } from './reconnect-policy.js';

/** Default time without a frame after which a connection counts as stalled. */
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;
/** Default limit on one probe of a live input. */
export const DEFAULT_PROBE_TIMEOUT_MS = 15_000;
/** Default grace of each ffmpeg stop step ('q', then SIGTERM, then SIGKILL): gone within ~1 s. */
export const DEFAULT_LIVE_STOP_GRACE_MS = 500;

/** Options of liveSource. */
export interface LiveSourceOptions {
  /** Source id of every frame and record (default: the URL without credentials). */
  name?: string;
  /** RTSP transport (default 'tcp'). */
  rtspTransport?: RtspTransport;
  /** ffmpeg's socket / read timeout in ms (default DEFAULT_IO_TIMEOUT_MS). */
  ioTimeoutMs?: number;
  /** No frame for this long (ms) stalls the connection (default DEFAULT_STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
  /** A probe taking longer (ms) fails the attempt (default DEFAULT_PROBE_TIMEOUT_MS). */
  probeTimeoutMs?: number;
  /** Backoff and maxRetries (see reconnect-policy.ts). */
  reconnect?: ReconnectOptions;
  /** Grace of each ffmpeg stop step in ms (default DEFAULT_LIVE_STOP_GRACE_MS). */
  stopGraceMs?: number;
  /** Aborting stops ffmpeg, emits an `ended` record (reason 'stopped') and completes. */
  signal?: AbortSignal;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Wall clock, epoch ms (default Date.now): Frame.wallMs and record times. */
  now?: () => number;
}

/** What a live source emits. */
export type LiveEvent = Frame | StatusRecord;

/** True for the status records among a live source's events. */
export function isStatusRecord(event: LiveEvent): event is StatusRecord {
  return (event as StatusRecord).kind === 'status';
}

/**
 * Reads a live input (rtsp://, rtsps://, http(s) MJPEG / HLS / progressive, /dev/videoN, or a
 * file) as RGB24 frames and status records; see the top of this file. Frames carry `wallMs`
 * (epoch ms at arrival); `seq` runs on across reconnects, and `ptsMs` is the arrival time on a
 * monotonic clock from the subscription's first frame (a camera's own timestamps restart with
 * each connection). Stream failures never error the Observable: they become records. It
 * completes after `offline` (maxRetries used up) or `ended` (a finite input's end, or abort),
 * and errors only when ffmpeg cannot run at all (E_FFMPEG_NOT_FOUND, a failed spawn).
 * Unsubscribing stops ffmpeg (q, SIGTERM, SIGKILL) within about 2 * stopGraceMs.
 */
export function liveSource(input: string, options: LiveSourceOptions = {}): Observable<LiveEvent> {
  const spec = classifyInput(input);
  if (spec.kind === 'stdin') {
    throw new OptionError('input', 'a camera URL, /dev/videoN or a file', '-',
      'liveSource probes before each connection, which standard input cannot be; read a pipe with ffmpeg into a file or a URL');
  }
  const settings = resolveLiveOptions(options);
  const source = options.name ?? spec.display;
  resolveReconnectOptions(options.reconnect); // checked once here, not per subscription

  return new Observable<LiveEvent>((subscriber) => new LiveConnection(spec, source, settings, options, subscriber).start());
}

interface LiveSettings {
  stallTimeoutMs: number;
  probeTimeoutMs: number;
  ioTimeoutMs: number;
  stopGraceMs: number;
}

function resolveLiveOptions(o: LiveSourceOptions): LiveSettings {
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!(Number.isFinite(v) && v > 0)) throw new OptionError(name, 'a number of ms > 0', v);
    return v;
  };
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw new OptionError('name', 'a non-empty string', o.name);
  // Checked here because liveInputArgs runs per connection, where a bad option would only be retried.
  if (o.rtspTransport !== undefined && o.rtspTransport !== 'tcp' && o.rtspTransport !== 'udp') {
    throw new OptionError('--rtsp-transport', '"tcp" or "udp"', o.rtspTransport);
  }
  return {
    stallTimeoutMs: positive('--stall-timeout', o.stallTimeoutMs, DEFAULT_STALL_TIMEOUT_MS),
    probeTimeoutMs: positive('probeTimeoutMs', o.probeTimeoutMs, DEFAULT_PROBE_TIMEOUT_MS),
    ioTimeoutMs: positive('ioTimeoutMs', o.ioTimeoutMs, DEFAULT_IO_TIMEOUT_MS),
    stopGraceMs: positive('stopGraceMs', o.stopGraceMs, DEFAULT_LIVE_STOP_GRACE_MS),
  };
}

/** One subscription: the connect / watch / reconnect loop and everything it owns. */
class LiveConnection {
  private readonly machine: SourceStateMachine;
  private readonly now: () => number;
  private closed = false;
  /** Bumped per connection attempt, so events of a torn-down attempt are ignored. */
  private generation = 0;
  private proc: FfmpegProcess | null = null;
  private probeAbort: AbortController | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private seq = 0;
  private firstFrameAt: number | null = null;

  constructor(
    private readonly spec: InputSpec,
    private readonly source: string,
    private readonly settings: LiveSettings,
    private readonly options: LiveSourceOptions,
    private readonly subscriber: Subscriber<LiveEvent>,
  ) {
    this.now = options.now ?? Date.now;
    this.machine = new SourceStateMachine(source, options.reconnect, this.now);
  }

  /** Starts the first connection; returns the teardown. */
  start(): () => void {
    const { signal } = this.options;
    const onAbort = (): void => {
      this.emit(this.machine.end('stopped'));
      this.close();
      this.subscriber.complete();
    };
    if (signal?.aborted) {
      this.machine.start();
      onAbort();
      return () => {};
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.emit(this.machine.start());
    void this.connect();
    return () => {
      signal?.removeEventListener('abort', onAbort);
      this.close();
    };
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    const current = (): boolean => !this.closed && gen === this.generation;
    let info: MediaInfo;
    let inputArgs: string[];
    let syncArgs: string[];
    try {
      // A missing binary is fatal at once, not after a probe that may keep failing for other reasons.
      resolveFfmpegTool('ffmpeg', this.options.ffmpegPath);
      resolveFfmpegTool('ffprobe', this.options.ffprobePath);
      info = await this.probe();
      const versionText = await ffmpegVersion(this.options.ffmpegPath);
      inputArgs = liveInputArgs(this.spec, { versionText, rtspTransport: this.options.rtspTransport, ioTimeoutMs: this.settings.ioTimeoutMs, quickStart: true });
      syncArgs = passthroughSyncArgs(versionText);
    } catch (err) {
      if (current()) this.failed(err, 'probe');
      return;
    }
    if (!current()) return;

    const { width, height, fps, codec } = info;
    let proc: FfmpegProcess;
    try {
      proc = spawnFfmpeg(liveDecodeArgs({ inputArgs, width, height, syncArgs }), {
        ffmpegPath: this.options.ffmpegPath,
        stdin: 'pipe', // kept open so stop() can send 'q'
        graceMs: this.settings.stopGraceMs,
      });
    } catch (err) {
      this.failed(err, 'ffmpeg');
      return;
    }
    this.proc = proc;
    const cutter = new FrameCutter(rgbFrameBytes(width, height));
    this.armStallTimer(gen);

    proc.stdout.on('data', (chunk: Buffer) => {
      if (!current()) return;
      const frames = cutter.push(chunk);
      if (frames.length === 0) return;
      this.stallTimer?.refresh();
      for (const data of frames) {
        if (!current()) return;
        this.emit(this.machine.frame({ width, height, fps, codec }));
        const wallMs = this.now();
        const mono = performance.now();
        this.firstFrameAt ??= mono;
        this.subscriber.next({ source: this.source, seq: this.seq++, ptsMs: Math.round((mono - this.firstFrameAt) * 1e3) / 1e3, width, height, data, wallMs });
      }
    });
    proc.done.then(
      () => {
        if (current()) this.streamEnded('stream ended');
      },
      (err: unknown) => {
        if (current()) this.failed(err, 'ffmpeg');
      },
    );
  }

  /** ffprobe with the same input options, bounded by probeTimeoutMs. */
  private async probe(): Promise<MediaInfo> {
    const abort = new AbortController();
    this.probeAbort = abort;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.settings.probeTimeoutMs);
    try {
      const versionText = await ffprobeVersion(this.options.ffprobePath);
      const args = liveProbeArgs(this.spec, { versionText, rtspTransport: this.options.rtspTransport, ioTimeoutMs: this.settings.ioTimeoutMs });
      const json = await runFfprobe(args, { ffprobePath: this.options.ffprobePath, signal: abort.signal });
      return mediaInfoFromProbe(this.spec.display, JSON.parse(json));
    } catch (err) {
      if (timedOut) throw new ProbeTimeout(this.settings.probeTimeoutMs);
      throw err;
    } finally {
      clearTimeout(timer);
      if (this.probeAbort === abort) this.probeAbort = null;
    }
  }

  private armStallTimer(gen: number): void {
    this.clearStallTimer();
    const ms = this.settings.stallTimeoutMs;
    this.stallTimer = setTimeout(() => {
      if (this.closed || gen !== this.generation) return;
      this.stopProcess();
      this.afterFailure(this.machine.stall(`no frame for ${ms} ms`));
    }, ms);
  }

  /** The process exited on its own with status 0. */
  private streamEnded(reason: string): void {
    this.stopProcess();
    if (this.spec.live) {
      this.afterFailure(this.machine.fail(reason));
    } else {
      this.emit(this.machine.end(reason));
      this.close();
      this.subscriber.complete();
    }
  }

  /** An attempt failed: fatal problems error the Observable, anything else is retried. */
  private failed(err: unknown, stage: 'probe' | 'ffmpeg'): void {
    if (isFatal(err)) {
      this.close();
      this.subscriber.error(err);
      return;
    }
    this.stopProcess();
    const reason = redactText(describeFailure(err, stage), this.spec.url);
    if (!this.spec.live && stage === 'ffmpeg') {
      this.emit(this.machine.end(reason));
      this.close();
      this.subscriber.complete();
      return;
    }
    this.afterFailure(this.machine.fail(reason));
  }

  /** Emits a failure's records, then schedules the next attempt, or completes once offline. */
  private afterFailure(outcome: FailureOutcome): void {
    this.emit(outcome.records);
    if (outcome.retryInMs === null) {
      this.close();
      this.subscriber.complete();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.closed) return;
      this.emit(this.machine.retry());
      void this.connect();
    }, outcome.retryInMs);
  }

  private emit(records: readonly StatusRecord[]): void {
    if (this.closed) return;
    for (const r of records) this.subscriber.next(r);
  }

  private clearStallTimer(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** Stops the current attempt's ffmpeg and probe; later events of that attempt are ignored. */
  private stopProcess(): void {
    this.generation++;
    this.clearStallTimer();
    this.probeAbort?.abort();
    this.probeAbort = null;
    const proc = this.proc;
    this.proc = null;
    void proc?.stop();
  }

  private close(): void {
    if (this.closed) return;
    this.stopProcess();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** A probe that did not finish within probeTimeoutMs. */
class ProbeTimeout extends Error {
  constructor(readonly ms: number) {
    super(`probe took longer than ${ms} ms`);
  }
}

/** Problems a reconnect cannot fix: no ffmpeg, or it cannot be started. */
function isFatal(err: unknown): boolean {
  if (err instanceof SsdpipeError && err.code === 'E_FFMPEG_NOT_FOUND') return true;
  // spawnOwned reports a failed spawn (ENOENT, EACCES) as an FfmpegError without stderr whose cause is the spawn error.
  return err instanceof FfmpegError && err.stderrTail === '' && (err.cause as NodeJS.ErrnoException | undefined)?.syscall?.startsWith('spawn') === true;
}

/** A one-line reason for a failed attempt (not yet redacted). */
function describeFailure(err: unknown, stage: 'probe' | 'ffmpeg'): string {
  if (err instanceof ProbeTimeout) return err.message;
  if (err instanceof FfmpegError) {
    const line = lastLine(err.stderrTail);
    return stage === 'probe' ? `probe failed: ${line || err.message}` : line ? `ffmpeg failed: ${line}` : err.message;
  }
  if (err instanceof Error) return `${stage} failed: ${err.message}`;
  return `${stage} failed: ${String(err)}`;
}

const probeVersions = new Map<string, Promise<string>>();

/** `ffprobe -version` output (cached per binary): ffprobe may be another build than ffmpeg. */
function ffprobeVersion(ffprobePath?: string): Promise<string> {
  const binary = resolveFfmpegTool('ffprobe', ffprobePath).path;
  let v = probeVersions.get(binary);
  if (!v) {
    v = runFfprobe(['-hide_banner', '-version'], { ffprobePath: binary });
    probeVersions.set(binary, v);
    v.catch(() => probeVersions.delete(binary));
  }
  return v;
}
