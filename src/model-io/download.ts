import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Agent, fetch, ProxyAgent, type Dispatcher, type Response } from 'undici';
import { ModelError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';

/*
 * One file over HTTP(S) into a cache: a `.part` file that grows as bytes arrive and is renamed
 * over the target only once its size and SHA-256 are right, so a reader never sees a partial
 * file. An interrupted download leaves the `.part` (and, in `.part.json`, the URL and the
 * server's ETag or Last-Modified); the next attempt asks only for the missing bytes with
 * `Range: bytes=<n>-` and `If-Range: <validator>`, so a file changed on the server meanwhile is
 * sent whole (200) instead of spliced. Without a validator a part is resumed only when the
 * file's SHA-256 is known, which then catches a bad splice (and the file is fetched once more,
 * whole).
 */

/** What a finished download is expected to be. */
export interface ExpectedBytes {
  size?: number;
  sha256?: string;
}

/** Options of downloadFile. */
export interface DownloadOptions {
  /** What is downloaded, for messages (a model name). */
  what: string;
  /** Size and hash when known: a mismatch is an E_WEIGHTS error and leaves no file. */
  expected?: ExpectedBytes;
  /** HTTP client (a proxy); see httpClient(). */
  dispatcher?: Dispatcher;
  /** The proxy that dispatcher goes through (see proxyForUrl), named when it cannot be reached. */
  proxy?: string;
  /** What a user can do instead, by hand (ends the hints); default: fetch the URL elsewhere and pass the file to --model. */
  byHand?: string;
  /** Called with each chunk's size, and with the bytes already on disk when resuming. */
  onBytes?: (bytes: number) => void;
  /** Called once the whole file's size is known from the response. */
  onTotal?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** A file downloaded (and verified). */
export interface DownloadedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Bytes that were on disk already and were not fetched again. */
  readonly resumedFrom: number;
  /** The server's ETag or Last-Modified, for resuming a later truncated copy. */
  readonly validator: string | undefined;
}

/** What a partial download recorded about its server file. */
interface PartInfo {
  url: string;
  validator?: string;
}

/** Proxy environment variables, as curl and npm read them (lowercase first). */
export interface ProxyEnv {
  HTTPS_PROXY?: string;
  https_proxy?: string;
  HTTP_PROXY?: string;
  http_proxy?: string;
  NO_PROXY?: string;
  no_proxy?: string;
}

/**
 * The proxy for a URL from HTTPS_PROXY / HTTP_PROXY (by the URL's scheme) and NO_PROXY
 * (comma-separated hosts or domain suffixes, `*` for all), or undefined for a direct connection.
 */
export function proxyForUrl(url: string, env: ProxyEnv = process.env): string | undefined {
  const u = new URL(url);
  const proxy = u.protocol === 'https:' ? env.https_proxy ?? env.HTTPS_PROXY : env.http_proxy ?? env.HTTP_PROXY;
  if (!proxy) return undefined;
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '').split(/[\s,]+/).filter(Boolean);
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of noProxy) {
    if (raw === '*') return undefined;
    const [entry, port] = raw.toLowerCase().replace(/^\*?\./, '.').split(/:(?=\d+$)/);
    if (port && port !== (u.port || (u.protocol === 'https:' ? '443' : '80'))) continue;
    if (host === entry!.replace(/^\./, '') || (entry!.startsWith('.') && host.endsWith(entry!)) || host.endsWith(`.${entry}`)) return undefined;
  }
  return proxy;
}

/**
 * The HTTP client for a URL: a ProxyAgent when the environment names a proxy for it, else a
 * plain Agent. (undici's EnvHttpProxyAgent does the same but prints an "experimental" warning
 * on every run.) The caller closes it.
 */
export function httpClient(url: string, env: ProxyEnv = process.env): Dispatcher {
  const proxy = proxyForUrl(url, env);
  return proxy ? new ProxyAgent({ uri: proxy }) : new Agent();
}

/** Downloads `url` to `dest` (resuming a `.part` left by an earlier attempt) and checks it. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions): Promise<DownloadedFile> {
  await mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const resume = await resumablePart(url, part, options.expected);
  const res = await request(url, resume, options);
  const resumeFrom = res.status === 206 ? resume.from : 0;
  const { start, total } = rangeOfResponse(res, resumeFrom, url, options);
  if (total !== undefined) options.onTotal?.(total);
  const validator = validatorOf(res);
  await writeFileAtomic(partInfoPath(part), JSON.stringify({ url, validator } satisfies PartInfo));

  const hash = createHash('sha256');
  if (start > 0) {
    await hashFile(part, hash);
    options.onBytes?.(start);
  }
  const size = await receiveBody(res, part, start, hash, url, options);
  const sha256 = hash.digest('hex');

  const mismatch = integrityProblem(size, sha256, total, options.expected);
  if (mismatch) {
    await discardPart(part);
    // A splice of a changed file: the bytes are fine, only the join was not; fetch it whole once.
    if (start > 0) return downloadFile(url, dest, options);
    throw new ModelError('E_WEIGHTS', `downloaded ${path.basename(dest)} of ${options.what} from ${url} ${mismatch}`, {
      hint: 'the file was corrupted in transit or changed on the server; run the command again, and if it fails again check the URL (SSDPIPE_MODEL_MIRROR) or report it',
    });
  }
  await rename(part, dest);
  await rm(partInfoPath(part), { force: true });
  return { path: dest, size, sha256, resumedFrom: start, validator };
}

/** Where a download starts: the bytes of a `.part` worth keeping, and the validator to send with them. */
interface Resume {
  from: number;
  validator?: string;
}

/** A `.part` is kept when it is of the same URL and either a validator or a known hash will check the result. */
async function resumablePart(url: string, part: string, expected: ExpectedBytes = {}): Promise<Resume> {
  const size = await stat(part).then((s) => s.size, () => 0);
  const info = await readFile(partInfoPath(part), 'utf8').then((t) => JSON.parse(t) as PartInfo, () => undefined);
  const sameFile = info?.url === url;
  const checkable = Boolean(info?.validator) || Boolean(expected.sha256);
  const fits = expected.size === undefined || size < expected.size;
  if (size > 0 && sameFile && checkable && fits) return { from: size, validator: info?.validator };
  await discardPart(part);
  return { from: 0 };
}

/** GET, asking only for the bytes after `resume.from` when resuming. Network failures become a ModelError. */
async function request(url: string, resume: Resume, options: DownloadOptions): Promise<Response> {
  const from = resume.from;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (from > 0) {
    headers.range = `bytes=${from}-`;
    if (resume.validator) headers['if-range'] = resume.validator;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, dispatcher: options.dispatcher, signal: options.signal, redirect: 'follow' });
  } catch (cause) {
    throw unreachable(url, cause, options);
  }
  if (res.status === 416 && from > 0) {
    // The part is no prefix of the file (it changed, or the part is whole but unchecked): start over.
    await res.body?.cancel();
    return request(url, { from: 0 }, options);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw httpError(url, res, options);
  }
  return res;
}

/** Where the body's bytes go: appended after `resumeFrom` for a 206, from 0 for a 200. */
function rangeOfResponse(res: Response, resumeFrom: number, url: string, options: DownloadOptions): { start: number; total: number | undefined } {
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (res.status !== 206) return { start: 0, total: Number.isFinite(length) ? length : undefined };
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  if (!m || Number(m[1]) !== resumeFrom) {
    throw new ModelError('E_MODEL', `cannot download ${options.what}: ${url} answered a range request with bytes ${res.headers.get('content-range')} instead of ${resumeFrom}-`, {
      hint: 'the server or a proxy mishandles HTTP ranges; delete the .part file in the cache folder and run again',
    });
  }
  return { start: resumeFrom, total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** Streams the body into the part file; returns the part's size. An interruption keeps the part for resuming. */
async function receiveBody(res: Response, part: string, start: number, hash: Hash, url: string, options: DownloadOptions): Promise<number> {
  const fh = await open(part, start > 0 ? 'a' : 'w');
  let size = start;
  try {
    for await (const chunk of res.body ?? []) {
      const bytes = chunk as Uint8Array;
      await fh.write(bytes);
      hash.update(bytes);
      size += bytes.byteLength;
      options.onBytes?.(bytes.byteLength);
    }
    await fh.sync();
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new ModelError('E_MODEL', `download of ${options.what} from ${url} was interrupted after ${size} bytes: ${describeCause(cause)}`, {
      cause,
      hint: 'run the command again: it resumes where this one stopped',
    });
  } finally {
    await fh.close();
  }
  return size;
}

/** Why a finished download is not the expected file, or '' when it is. */
function integrityProblem(size: number, sha256: string, total: number | undefined, expected: ExpectedBytes = {}): string {
  if (total !== undefined && size !== total) return `is ${size} bytes, but the server announced ${total}`;
  if (expected.size !== undefined && size !== expected.size) return `is ${size} bytes, expected ${expected.size}`;
  if (expected.sha256 !== undefined && sha256 !== expected.sha256) return `has SHA-256 ${sha256}, expected ${expected.sha256}`;
  return '';
}

function validatorOf(res: Response): string | undefined {
  const etag = res.headers.get('etag');
  // A weak ETag may not be used with If-Range (RFC 9110 13.1.5).
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers.get('last-modified') ?? undefined;
}

function partInfoPath(part: string): string {
  return `${part}.json`;
}

async function discardPart(part: string): Promise<void> {
  await rm(part, { force: true });
  await rm(partInfoPath(part), { force: true });
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/** No answer at all: offline, DNS, refused, proxy down. */
function unreachable(url: string, cause: unknown, options: DownloadOptions): ModelError {
  const proxy = options.proxy;
  const via = proxy ? ` through the proxy ${redact(proxy)}` : '';
  return new ModelError('E_MODEL', `cannot download ${options.what}: ${new URL(url).host} could not be reached${via} (${describeCause(cause)})`, {
    cause,
    hint: proxy
      ? `check the proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY) and the network; or ${byHand(url, options)}`
      : `are you offline? connect (set HTTPS_PROXY behind a proxy, or SSDPIPE_MODEL_MIRROR for a mirror), or ${byHand(url, options)}`,
  });
}

/** The server answered, but not with the file. */
function httpError(url: string, res: Response, options: DownloadOptions): ModelError {
  const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  const hint =
    res.status === 404 || res.status === 410
      ? `the file is not at that address (moved by its publisher, or missing from SSDPIPE_MODEL_MIRROR); ${byHand(url, options)}`
      : res.status === 407
        ? 'the proxy wants credentials: put them in HTTPS_PROXY (http://user:password@host:port)'
        : res.status >= 500
          ? 'the server failed; try again later, or use a mirror (SSDPIPE_MODEL_MIRROR)'
          : byHand(url, options);
  return new ModelError('E_MODEL', `cannot download ${options.what}: the server answered ${status} for ${url}`, { hint });
}

function byHand(url: string, options: DownloadOptions): string {
  return options.byHand ?? `fetch ${url} elsewhere and pass the file to --model`;
}

/** The innermost useful reason of a fetch failure (undici wraps it as `fetch failed`). */
function describeCause(cause: unknown): string {
  let e = cause as { code?: string; message?: string; cause?: unknown } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return [e?.code, e?.message].filter(Boolean).join(': ') || String(cause);
}

/** A proxy URL without its password. */
function redact(proxy: string): string {
  try {
    const u = new URL(proxy);
    if (u.password) u.password = '***';
    return u.href.replace(/\/$/, '');
  } catch {
    return proxy;
  }
}
