/**
 * Pure: what kind of input a command-line string names, and how to show it without credentials.
 * No I/O here (a path is classified by its spelling, not by looking at the disk).
 *
 * Credentials reach ssdpipe in two places in a camera URL: the userinfo (`rtsp://user:pass@cam/`)
 * and, for many HTTP cameras, the query (`/video.cgi?user=admin&pwd=secret`). Both are removed
 * before a URL is used as a source id or put into a record, log line or error message.
 */
import { OptionError } from '../errors.js';

/** The kinds of input ssdpipe reads, each opened differently by ffmpeg (see live-args.ts). */
export type InputKind = 'rtsp' | 'rtsps' | 'mjpeg' | 'hls' | 'http' | 'v4l2' | 'stdin' | 'file';

/** A classified input. */
export interface InputSpec {
  readonly kind: InputKind;
  /** What ffmpeg opens: the URL with its credentials, `pipe:0`, or a `file:` path. */
  readonly url: string;
  /** The input as it may be shown anywhere: credentials removed (see redactUrl). */
  readonly display: string;
  /**
   * True for sources that never end on purpose (cameras, MJPEG and HLS streams, capture devices):
   * their end is a failure to recover from by reconnecting. False for files, standard input and
   * progressive HTTP downloads, whose end is the end of the run.
   */
  readonly live: boolean;
}

/** Query parameter names whose values are treated as secrets (compared case-insensitively). */
export const SECRET_QUERY_PARAMS: readonly string[] = [
  'user', 'username', 'usr', 'login', 'pass', 'password', 'passwd', 'pwd', 'psw',
  'token', 'access_token', 'auth', 'key', 'apikey', 'api_key', 'secret', 'sig', 'signature',
];

/** What replaces a secret query value. */
export const REDACTED = '***';

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const V4L2_DEVICE = /^\/dev\/video\d+$/;
const HLS_PATH = /\.m3u8$/i;
// Paths that camera vendors use for MJPEG (Axis /mjpg/video.mjpg, Foscam videostream.cgi, /mjpeg, ...).
const MJPEG_PATH = /(\.mjpe?g$|\/mjpe?g(\/|$)|videostream\.cgi$|video\.cgi$|faststream)/i;

/**
 * Classifies an input string: rtsp:// and rtsps:// URLs, http(s):// URLs (HLS when the path ends
 * in .m3u8, MJPEG for the usual camera paths, else a progressive download), /dev/videoN capture
 * devices, '-' for standard input, file:// URLs and everything else as a local file path.
 * Throws OptionError for a URL scheme ssdpipe does not read (the message shows it redacted).
 */
export function classifyInput(input: string): InputSpec {
  if (typeof input !== 'string' || input === '') throw new OptionError('input', 'a file path, URL, /dev/videoN or -', input);
  if (input === '-') return { kind: 'stdin', url: 'pipe:0', display: '-', live: false };
  if (V4L2_DEVICE.test(input)) return { kind: 'v4l2', url: input, display: input, live: true };

  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'file', url: `file:${input}`, display: input, live: false };
  const display = redactUrl(input);
  switch (scheme) {
    case 'rtsp':
    case 'rtsps':
      return { kind: scheme, url: input, display, live: true };
    case 'http':
    case 'https': {
      const pathname = urlPath(input);
      if (HLS_PATH.test(pathname)) return { kind: 'hls', url: input, display, live: true };
      if (MJPEG_PATH.test(pathname)) return { kind: 'mjpeg', url: input, display, live: true };
      return { kind: 'http', url: input, display, live: false };
    }
    case 'file': {
      const filePath = decodeURIComponent(input.slice('file://'.length));
      return { kind: 'file', url: `file:${filePath}`, display: filePath, live: false };
    }
    default:
      // `display`, never `input`: an unsupported URL may still carry a password.
      throw new OptionError('input', 'a file path, an rtsp://, rtsps://, http:// or https:// URL, /dev/videoN or -', display,
        'other protocols (rtmp, srt, udp) are not supported yet');
  }
}

/**
 * The URL without its credentials: the userinfo (`user:pass@`) is removed and the values of
 * query parameters named like secrets (SECRET_QUERY_PARAMS) become `***`. Text that is not a
 * `scheme://` URL is returned unchanged. Works on the raw text as ffmpeg splits it (the authority
 * ends at the first '/', '?' or '#'), so a URL that WHATWG `URL` rejects is still redacted.
 */
export function redactUrl(url: string): string {
  const m = SCHEME.exec(url);
  if (!m) return url;
  const start = m[0].length;
  // Userinfo runs to the last '@' of the authority, so an unescaped '@' in a password is removed too.
  const authorityEnd = findAuthorityEnd(url, start);
  const authority = url.slice(start, authorityEnd);
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : authority.slice(at + 1);
  return m[0] + host + redactQuery(url.slice(authorityEnd));
}

/**
 * Free text (an ffmpeg stderr line, an error message) with every `scheme://user:pass@` userinfo
 * removed, and every occurrence of `url` (and its userinfo) replaced by its redacted form.
 */
export function redactText(text: string, url?: string): string {
  let out = text;
  if (url !== undefined && SCHEME.test(url)) {
    const redacted = redactUrl(url);
    out = out.split(url).join(redacted);
    const userinfo = userinfoOf(url);
    if (userinfo) out = out.split(userinfo).join('');
  }
  // Any other URL in the text: drop its userinfo (no '/', whitespace or quotes inside it).
  out = out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>]*@/gi, '$1');
  return out.replace(/([?&](?:[^=&#\s]+)=)([^&#\s"']*)/g, (whole, head: string, _value: string) =>
    isSecretParam(head.slice(1, -1)) ? head + REDACTED : whole);
}

function findAuthorityEnd(url: string, start: number): number {
  // As ffmpeg's av_url_split: the authority ends at the first '/', '?' or '#'.
  for (let i = start; i < url.length; i++) if (url[i] === '/' || url[i] === '?' || url[i] === '#') return i;
  return url.length;
}

function userinfoOf(url: string): string | null {
  const m = SCHEME.exec(url);
  if (!m) return null;
  const start = m[0].length;
  const authority = url.slice(start, findAuthorityEnd(url, start));
  const at = authority.lastIndexOf('@');
  return at < 0 ? null : authority.slice(0, at + 1);
}

function redactQuery(rest: string): string {
  const q = rest.indexOf('?');
  if (q < 0) return rest;
  const hash = rest.indexOf('#', q);
  const query = rest.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      return isSecretParam(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
    })
    .join('&');
  return rest.slice(0, q + 1) + redacted + (hash < 0 ? '' : rest.slice(hash));
}

function isSecretParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // a malformed escape: compare the raw name
  }
  return SECRET_QUERY_PARAMS.includes(decoded.toLowerCase());
}

function urlPath(url: string): string {
  const m = SCHEME.exec(url)!;
  const rest = url.slice(findAuthorityEnd(url, m[0].length));
  const end = rest.search(/[?#]/);
  return end < 0 ? rest : rest.slice(0, end);
}
