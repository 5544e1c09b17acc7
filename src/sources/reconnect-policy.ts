/**
 * Pure: when a live source reconnects, and the states it reports on the way.
 *
 * Backoff: attempt n (1-based, counting failures since the last frame) waits
 *   min(maxMs, initialMs * factor^(n-1)) * (1 - jitter * r),   r uniform in [0, 1)
 * i.e. 1, 2, 4, 8, 16, 30, 30 ... s by default, each shortened by up to 20 %. The jitter only
 * shortens, so the cap holds, and cameras that dropped together (a switch rebooting) do not all
 * knock again in the same millisecond. `random` is injectable so tests get golden values.
 *
 * States (one StatusRecord per change):
 *
 *   connecting --first frame--> streaming
 *   connecting | streaming --no frame for the stall timeout--> stalled --> reconnecting | offline
 *   connecting | streaming --failed or ended--> reconnecting | offline
 *   reconnecting --delay elapsed--> connecting (attempt n)
 *   any but offline/ended --stopped, or a finite input's end--> ended
 *
 * offline is final: more than maxRetries consecutive attempts failed.
 */
import { SeededRandom } from '../seeded-random.js';
import { OptionError } from '../errors.js';

/** What a live source is doing. */
export type SourceState = 'connecting' | 'streaming' | 'stalled' | 'reconnecting' | 'offline' | 'ended';

/** One state change of one source; the JSONL sink writes it as `{"type":"status",...}`. */
export interface StatusRecord {
  readonly kind: 'status';
  /** The source id: the camera's name or its URL without credentials. */
  readonly source: string;
  readonly state: SourceState;
  /** When the change happened, ISO 8601 UTC. */
  readonly time: string;
  /** Connection attempt: 0 for the first connection, n for the nth retry since the last frame. */
  readonly attempt: number;
  /** Why (for stalled, reconnecting, offline, ended), with credentials removed; null otherwise. */
  readonly reason: string | null;
  /** reconnecting only: how long until the next attempt. */
  readonly delayMs?: number;
  /** streaming only, when known: what this connection delivers (re-probed on every reconnect). */
  readonly media?: StreamMedia;
}

/** The picture a connection delivers. */
export interface StreamMedia {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly codec: string;
}

/** Backoff and retry limits. */
export interface ReconnectOptions {
  /** Delay before the first retry (default 1000). */
  initialMs?: number;
  /** Longest delay (default 30000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Fraction in [0, 1] by which a delay may be shortened at random (default 0.2). */
  jitter?: number;
  /** Consecutive failed attempts before the source goes offline (default Infinity: never). */
  maxRetries?: number;
  /** Uniform numbers in [0, 1) for the jitter (default Math.random; see seededRandom). */
  random?: () => number;
}

/** The defaults of ReconnectOptions. */
export const RECONNECT_DEFAULTS = { initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2, maxRetries: Infinity } as const;

/** ReconnectOptions with every default filled in and checked. */
export type ResolvedReconnectOptions = Required<ReconnectOptions>;

/** Fills in defaults and checks every option once (OptionError names the bad one). */
export function resolveReconnectOptions(o: ReconnectOptions = {}): ResolvedReconnectOptions {
  const r = { ...RECONNECT_DEFAULTS, random: Math.random, ...stripUndefined(o) };
  if (!(Number.isFinite(r.initialMs) && r.initialMs >= 0)) throw new OptionError('initialMs', 'a number of ms >= 0', r.initialMs);
  if (!(Number.isFinite(r.maxMs) && r.maxMs >= r.initialMs)) throw new OptionError('maxMs', `a number of ms >= initialMs (${r.initialMs})`, r.maxMs);
  if (!(Number.isFinite(r.factor) && r.factor >= 1)) throw new OptionError('factor', 'a number >= 1', r.factor);
  if (!(r.jitter >= 0 && r.jitter <= 1)) throw new OptionError('jitter', 'a number in [0, 1]', r.jitter);
  if (!(r.maxRetries === Infinity || (Number.isInteger(r.maxRetries) && r.maxRetries >= 0))) {
    throw new OptionError('--max-retries', 'an integer >= 0 (or Infinity)', r.maxRetries);
  }
  if (typeof r.random !== 'function') throw new OptionError('random', 'a function returning numbers in [0, 1)', r.random);
  return r;
}

/** The delay before retry `attempt` (1-based), in whole ms (see the formula at the top). */
export function backoffDelayMs(attempt: number, o: ResolvedReconnectOptions): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`backoffDelayMs: attempt must be an integer >= 1, got ${attempt}`);
  // Capped before the power can overflow: factor^(attempt-1) is never needed past maxMs.
  let capped = o.initialMs;
  for (let i = 1; i < attempt && capped < o.maxMs; i++) capped *= o.factor;
  capped = Math.min(o.maxMs, capped);
  return Math.round(capped * (1 - o.jitter * o.random()));
}

/** A seedable uniform [0, 1) generator (src/seeded-random.ts), as a plain function for the backoff's jitter. */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** What a failure leads to: the records to emit and, unless the source is now offline, when to retry. */
export interface FailureOutcome {
  readonly records: StatusRecord[];
  /** ms until connecting again; null when the source went offline. */
  readonly retryInMs: number | null;
}

/**
 * The state of one live source. Methods are the events; each returns the StatusRecords the
 * event produces (none when it changes nothing, e.g. a frame while streaming). Events that do not
 * apply to the current state (a late frame after a failure) are ignored.
 */
export class SourceStateMachine {
  private current: SourceState | null = null;
  private attemptNo = 0;
  /** Consecutive failed attempts since the last frame. */
  private failures = 0;
  private readonly options: ResolvedReconnectOptions;

  constructor(
    readonly source: string,
    options: ReconnectOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = resolveReconnectOptions(options);
  }

  /** The current state (null before start()). */
  get state(): SourceState | null {
    return this.current;
  }

  /** The current attempt number. */
  get attempt(): number {
    return this.attemptNo;
  }

  /** True once offline or ended: nothing follows. */
  get done(): boolean {
    return this.current === 'offline' || this.current === 'ended';
  }

  /** The first connection. */
  start(): StatusRecord[] {
    if (this.current !== null) return [];
    return [this.enter('connecting', null)];
  }

  /**
   * A frame arrived: the first one of a connection makes the source streaming (with `media` in
   * the record when given) and forgives past failures.
   */
  frame(media?: StreamMedia): StatusRecord[] {
    if (this.current !== 'connecting') return [];
    this.failures = 0;
    const record = this.enter('streaming', null);
    return [media === undefined ? record : { ...record, media }];
  }

  /** No frame for the stall timeout: stalled, then as fail(). */
  stall(reason: string): FailureOutcome {
    if (this.current !== 'connecting' && this.current !== 'streaming') return { records: [], retryInMs: null };
    const stalled = this.enter('stalled', reason);
    const next = this.failAfter(reason);
    return { records: [stalled, ...next.records], retryInMs: next.retryInMs };
  }

  /** The connection failed or the stream ended: reconnecting after a backoff, or offline past maxRetries. */
  fail(reason: string): FailureOutcome {
    if (this.current !== 'connecting' && this.current !== 'streaming') return { records: [], retryInMs: null };
    return this.failAfter(reason);
  }

  /** The backoff delay elapsed: connecting again. */
  retry(): StatusRecord[] {
    if (this.current !== 'reconnecting') return [];
    return [this.enter('connecting', null)];
  }

  /** Stopped on purpose, or a finite input ended: ended (final). */
  end(reason: string): StatusRecord[] {
    if (this.current === null || this.done) return [];
    return [this.enter('ended', reason)];
  }

  private failAfter(reason: string): FailureOutcome {
    this.failures += 1;
    if (this.failures > this.options.maxRetries) return { records: [this.enter('offline', reason)], retryInMs: null };
    const delayMs = backoffDelayMs(this.failures, this.options);
    this.attemptNo = this.failures;
    return { records: [this.enter('reconnecting', reason, delayMs)], retryInMs: delayMs };
  }

  private enter(state: SourceState, reason: string | null, delayMs?: number): StatusRecord {
    this.current = state;
    const record: StatusRecord = {
      kind: 'status',
      source: this.source,
      state,
      time: new Date(this.now()).toISOString(),
      attempt: this.attemptNo,
      reason,
    };
    return delayMs === undefined ? record : { ...record, delayMs };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
