import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SsdpipeError } from '../errors.js';

/** The two binaries ssdpipe runs. */
export type FfmpegTool = 'ffmpeg' | 'ffprobe';

/** Where a binary was (or could have been) found, in the order they are tried. */
export type ToolSource =
  | 'option'
  | 'env'
  | 'ffmpeg-static'
  | '@ffmpeg-installer/ffmpeg'
  | '@ffprobe-installer/ffprobe'
  | 'PATH';

/** A candidate that was tried and passed over, with why (shown by `ssdpipe doctor`). */
export interface SkippedCandidate {
  readonly source: ToolSource;
  readonly reason: string;
}

/** One resolved binary: its path, which candidate supplied it, and the candidates skipped before it. */
export interface ResolvedTool {
  readonly path: string;
  readonly source: ToolSource;
  /** Why this path was chosen, e.g. 'from FFMPEG_PATH'. */
  readonly reason: string;
  readonly skipped: readonly SkippedCandidate[];
}

/** Explicit binary locations; either may be a path or a bare name looked up in PATH. */
export interface FfmpegPathOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

/** Both binaries, resolved. */
export interface ResolvedFfmpeg {
  readonly ffmpeg: ResolvedTool;
  readonly ffprobe: ResolvedTool;
}

/** Environment variables that name the binaries. */
export const FFMPEG_ENV: Readonly<Record<FfmpegTool, string>> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };

const OPTION_NAME: Readonly<Record<FfmpegTool, string>> = { ffmpeg: 'ffmpegPath', ffprobe: 'ffprobePath' };

const require = createRequire(import.meta.url);
const cache = new Map<string, ResolvedTool>();

/**
 * Finds ffmpeg and ffprobe: explicit option, then FFMPEG_PATH / FFPROBE_PATH, then the
 * ffmpeg-static package (ffmpeg only), then @ffmpeg-installer/ffmpeg / @ffprobe-installer/ffprobe,
 * then PATH. Results are cached per process (keyed by the option, env var and PATH).
 */
export function resolveFfmpeg(options: FfmpegPathOptions = {}): ResolvedFfmpeg {
  return {
    ffmpeg: resolveFfmpegTool('ffmpeg', options.ffmpegPath),
    ffprobe: resolveFfmpegTool('ffprobe', options.ffprobePath),
  };
}

/** Resolves one binary (see resolveFfmpeg); throws SsdpipeError 'E_FFMPEG_NOT_FOUND' listing what was tried. */
export function resolveFfmpegTool(tool: FfmpegTool, explicitPath?: string): ResolvedTool {
  const envName = FFMPEG_ENV[tool];
  const envValue = process.env[envName] || undefined;
  const key = [tool, explicitPath ?? '', envValue ?? '', process.env.PATH ?? ''].join('\0');
  const hit = cache.get(key);
  if (hit) return hit;
  const resolved = locate(tool, explicitPath, envValue);
  cache.set(key, resolved);
  return resolved;
}

/** Looks up an executable by bare name in a PATH-style list (PATHEXT extensions on Windows); null if absent. */
export function searchPath(name: string, pathList = process.env.PATH ?? ''): string | null {
  const exts = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of pathList.split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return null;
}

function locate(tool: FfmpegTool, explicitPath: string | undefined, envValue: string | undefined): ResolvedTool {
  const skipped: SkippedCandidate[] = [];
  const envName = FFMPEG_ENV[tool];

  // An explicit choice (option or env var) that does not work is an error, never a silent fallback.
  if (explicitPath !== undefined) {
    const found = explicitLookup(explicitPath);
    if (found) return { path: found, source: 'option', reason: `from option ${OPTION_NAME[tool]}`, skipped };
    throw notFound(tool, `${tool} not found at ${explicitPath} (given by option ${OPTION_NAME[tool]})`,
      `point ${OPTION_NAME[tool]} at an executable ${tool} binary, or leave it out to use a bundled or PATH ${tool}`);
  }
  skipped.push({ source: 'option', reason: `option ${OPTION_NAME[tool]} not given` });

  if (envValue !== undefined) {
    const found = explicitLookup(envValue);
    if (found) return { path: found, source: 'env', reason: `from ${envName}`, skipped };
    throw notFound(tool, `${tool} not found at ${envValue} (given by ${envName})`,
      `fix or unset ${envName}; it must name an executable ${tool} binary`);
  }
  skipped.push({ source: 'env', reason: `${envName} is not set` });

  if (tool === 'ffmpeg') {
    const r = packageBinary('ffmpeg-static', (m) => (typeof m === 'string' ? m : null));
    if (r.path) return { path: r.path, source: 'ffmpeg-static', reason: `from package ffmpeg-static`, skipped };
    skipped.push({ source: 'ffmpeg-static', reason: r.reason });
  }

  const installer = tool === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe';
  const r = packageBinary(installer, (m) => {
    const p = (m as { path?: unknown } | null)?.path;
    return typeof p === 'string' ? p : null;
  });
  if (r.path) return { path: r.path, source: installer, reason: `from package ${installer}`, skipped };
  skipped.push({ source: installer, reason: r.reason });

  const onPath = searchPath(tool);
  if (onPath) return { path: onPath, source: 'PATH', reason: `found in PATH`, skipped };
  skipped.push({ source: 'PATH', reason: `no ${tool} in PATH` });

  const tried = skipped.map((s) => `${s.source}: ${s.reason}`).join('; ');
  throw notFound(tool, `${tool} not found (${tried})`,
    `install ffmpeg (e.g. apt install ffmpeg) or set ${envName} to its path`);
}

function explicitLookup(value: string): string | null {
  // A bare name ("ffmpeg") means "look it up in PATH"; anything with a separator is a path.
  if (!value.includes('/') && !value.includes(path.sep)) return searchPath(value);
  const abs = path.resolve(value);
  return isExecutableFile(abs) ? abs : null;
}

function packageBinary(pkg: string, pick: (mod: unknown) => string | null): { path: string | null; reason: string } {
  let mod: unknown;
  try {
    // The packages are CommonJS; require keeps resolution synchronous. Both throw when
    // the package (or, for the installers, the platform sub-package) is not installed.
    mod = require(pkg);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { path: null, reason: code === 'MODULE_NOT_FOUND' ? 'package not installed' : `package failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  const p = pick(mod);
  if (!p) return { path: null, reason: 'package has no binary for this platform' };
  // ffmpeg-static downloads its binary in an install script that may have been skipped.
  if (!isExecutableFile(p)) return { path: null, reason: `package installed but its binary is missing at ${p} (was its install script skipped?)` };
  return { path: p, reason: '' };
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function notFound(tool: FfmpegTool, message: string, hint: string): SsdpipeError {
  return new SsdpipeError('E_FFMPEG_NOT_FOUND', message, { hint: `${hint} (run \`ssdpipe doctor\` to see where ${tool} was looked for)` });
}
