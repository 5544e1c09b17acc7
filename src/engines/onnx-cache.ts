import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.js';
import envPaths from 'env-paths';
import type { SsdGraph } from '../model/ssd-graph.js';
import { buildOnnxModel, DEFAULT_ONNX_OPSET, type BuildOnnxOptions } from '../onnx/onnx-graph.js';

/** Bumped whenever buildOnnxModel's output changes for the same graph, so old cache files are ignored. */
export const ONNX_CACHE_FORMAT_VERSION = 1;

/** A cached model not used for this long is removed the next time a new one is written. */
export const ONNX_CACHE_MAX_UNUSED_DAYS = 30;

/** A temp file this old was left by a process that died mid-write. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Environment variable that overrides the cache directory. */
export const CACHE_DIR_ENV = 'SSDPIPE_CACHE_DIR';

/** Where generated .onnx files live: $SSDPIPE_CACHE_DIR/onnx, else the user's cache dir (e.g. ~/.cache/ssdpipe/onnx). */
export function onnxCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env[CACHE_DIR_ENV] || envPaths('ssdpipe', { suffix: '' }).cache;
  return path.join(path.resolve(base), 'onnx');
}

/** Less free space than this in the cache's file system and a generated model (16-22 MB) may not fit. */
export const ONNX_CACHE_MIN_FREE_BYTES = 64 * 2 ** 20;

/** What checkOnnxCacheDir found. */
export interface OnnxCacheDirCheck {
  readonly dir: string;
  /** A file could be written there. */
  readonly writable: boolean;
  /** The write error when not writable. */
  readonly error?: string;
  /** Bytes free for unprivileged writes, null if unknown. */
  readonly freeBytes: number | null;
}

/**
 * Whether generated models can be cached in `dir`: it is created if missing, a small file is
 * written and removed, and the free space is read. For `ssdpipe doctor`; a run does not need it
 * (loadOrBuildOnnxModel falls back to the model in memory by itself).
 */
export async function checkOnnxCacheDir(dir: string = onnxCacheDir()): Promise<OnnxCacheDirCheck> {
  const probe = path.join(dir, `.write-test.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let error: string | undefined;
  try {
    await makeDir(dir);
    await writeFile(probe, 'x');
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
  const fs = await statfs(dir).catch(() => null);
  return { dir, writable: error === undefined, ...(error !== undefined ? { error } : {}), freeBytes: fs ? fs.bavail * fs.bsize : null };
}

/**
 * sha256 (hex) over everything that shapes the generated model: a format version, the input
 * layout and opset, the graph's sizes, every layer's attributes (dilation and clip included),
 * weights and biases, and the heads.
 */
export function onnxCacheKey(graph: SsdGraph, opts: BuildOnnxOptions): string {
  const h = createHash('sha256');
  const opset = opts.opset ?? DEFAULT_ONNX_OPSET;
  const json = (v: unknown): void => {
    h.update(JSON.stringify(v));
    h.update('\n');
  };
  json({ format: ONNX_CACHE_FORMAT_VERSION, layout: opts.inputLayout, opset });
  json([graph.inputHeight, graph.inputWidth, graph.numAnchors, graph.numClasses]);
  for (const l of graph.layers) {
    json([l.name, l.input, l.kind, l.kernel, l.stride, l.inChannels, l.outChannels, l.activation,
      l.inHeight, l.inWidth, l.outHeight, l.outWidth, l.pads, l.weights.length, l.bias.length,
      // Only when present (dilation: when not 1), so graphs without them keep their keys. A clip
      // is a pair and a dilation a number, so neither can be read as the other.
      ...(l.clip ? [l.clip] : []), ...(l.dilation !== undefined && l.dilation !== 1 ? [l.dilation] : [])]);
    h.update(new Uint8Array(l.weights.buffer, l.weights.byteOffset, l.weights.byteLength));
    h.update(new Uint8Array(l.bias.buffer, l.bias.byteOffset, l.bias.byteLength));
  }
  json(graph.heads.map((x) => [x.boxLayer, x.classLayer, x.anchorsPerCell, x.height, x.width]));
  return h.digest('hex');
}

/** The generated model, where it is cached, and whether the cache already had it. */
export interface CachedOnnxModel {
  /** Serialized ModelProto. */
  readonly bytes: Uint8Array;
  /** The cache file; undefined when caching was off or the cache could not be written. */
  readonly path: string | undefined;
  /** True when the bytes came from the cache (nothing was rebuilt). */
  readonly hit: boolean;
  /** Why the cache was not used, when it was not: 'disabled', 'missing', 'corrupt', or a write error. */
  readonly note: string;
}

/** Options of loadOrBuildOnnxModel. */
export interface OnnxCacheOptions {
  /** Cache directory; default onnxCacheDir(). null disables the cache. */
  cacheDir?: string | null;
  /** Ignore a cached copy and regenerate (and re-cache) the model. */
  rebuild?: boolean;
}

/**
 * Returns the ONNX model for a graph, from the cache when a valid copy is there, else built
 * (and cached). A cache file whose content hash does not match its .sha256 companion (truncated,
 * corrupt, half-written by another process) is rebuilt. Failing to write the cache is not an
 * error: the model is still returned, with path undefined.
 */
export async function loadOrBuildOnnxModel(graph: SsdGraph, opts: BuildOnnxOptions, cache: OnnxCacheOptions = {}): Promise<CachedOnnxModel> {
  const dir = cache.cacheDir === undefined ? onnxCacheDir() : cache.cacheDir;
  if (dir === null) return { bytes: buildOnnxModel(graph, opts), path: undefined, hit: false, note: 'disabled' };

  const key = onnxCacheKey(graph, opts);
  const file = path.join(dir, `ssd-${key.slice(0, 32)}.onnx`);
  const sumFile = `${file}.sha256`;
  const cached = cache.rebuild ? { why: 'rebuild requested' } as { bytes?: Uint8Array; why: string } : await readVerified(file, sumFile);
  if (cached.bytes) {
    await markUsed(sumFile);
    return { bytes: cached.bytes, path: file, hit: true, note: '' };
  }

  const bytes = buildOnnxModel(graph, opts);
  try {
    await makeDir(dir);
    await writeFileAtomic(file, bytes);
    await writeFileAtomic(sumFile, `${sha256(bytes)}\n`);
    // A new model is the moment the cache grows, so it is the moment to drop unused ones.
    await pruneOnnxCache(dir, { keep: [path.basename(file)] });
    return { bytes, path: file, hit: false, note: cached.why };
  } catch (err) {
    // A read-only or full cache directory must not stop a run: the model is used from memory.
    return { bytes, path: undefined, hit: false, note: `cache not written (${(err as Error).message}): built in memory, not cached` };
  }
}

/**
 * mkdir -p with the real cause: Node's recursive mkdir says ENOENT when it cannot create a folder
 * on a read-only file system, so the last level is tried again alone for EROFS or EACCES.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      throw again.code === 'ENOENT' ? err : again;
    });
  }
}

/**
 * Records that a cached model was used, as the modification time of its checksum file: the
 * model file itself stays untouched, and access times are not reliable (noatime, relatime).
 */
async function markUsed(sumFile: string): Promise<void> {
  const now = new Date();
  await utimes(sumFile, now, now).catch(() => undefined); // pruned or replaced meanwhile: harmless
}

/** Options of pruneOnnxCache. */
export interface PruneOptions {
  /** Current time in ms (for tests). */
  now?: number;
  /** Models not used for longer than this are removed (default ONNX_CACHE_MAX_UNUSED_DAYS). */
  maxUnusedMs?: number;
  /** Model file names never removed (the one just written). */
  keep?: readonly string[];
}

/**
 * Removes from a cache directory the models (with their .sha256) not used for `maxUnusedMs`
 * (last use: the checksum file's modification time, see markUsed),
 * checksum files whose model is gone, and temp files left by interrupted writes. Other files
 * are never touched; failures (a file another process removed first) are ignored.
 * Returns the names removed.
 */
export async function pruneOnnxCache(dir: string, options: PruneOptions = {}): Promise<string[]> {
  const now = options.now ?? Date.now();
  const maxUnused = options.maxUnusedMs ?? ONNX_CACHE_MAX_UNUSED_DAYS * 24 * 60 * 60 * 1000;
  const keep = new Set(options.keep ?? []);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const present = new Set(names);
  const removed: string[] = [];
  const remove = async (name: string): Promise<void> => {
    try {
      await rm(path.join(dir, name));
      removed.push(name);
    } catch {
      // already gone
    }
  };
  const age = async (name: string): Promise<number | null> => {
    try {
      return now - (await stat(path.join(dir, name))).mtimeMs;
    } catch {
      return null;
    }
  };
  for (const name of names) {
    if (keep.has(name)) continue;
    if (/^ssd-[0-9a-f]{32}\.onnx$/.test(name)) {
      // Last used: the checksum's time (set on every hit), else the model's own.
      const unused = (await age(`${name}.sha256`)) ?? (await age(name));
      if (unused !== null && unused > maxUnused) {
        await remove(name);
        await remove(`${name}.sha256`);
      }
    } else if (/^ssd-[0-9a-f]{32}\.onnx\.sha256$/.test(name)) {
      const unused = await age(name);
      if (!present.has(name.slice(0, -'.sha256'.length)) && unused !== null && unused > STALE_TEMP_MS) await remove(name);
    } else if (/^\.ssd-[0-9a-f]{32}\.onnx(\.sha256)?\.\d+\.[0-9a-f]{8}\.tmp$/.test(name)) {
      const unused = await age(name);
      if (unused !== null && unused > STALE_TEMP_MS) await remove(name);
    }
  }
  return removed;
}

/** Reads a cache file and checks it against its recorded sha256. */
async function readVerified(file: string, sumFile: string): Promise<{ bytes?: Uint8Array; why: string }> {
  let bytes: Buffer;
  let sum: string;
  try {
    [bytes, sum] = await Promise.all([readFile(file), readFile(sumFile, 'utf8')]);
  } catch {
    return { why: 'missing' };
  }
  if (sha256(bytes) !== sum.trim()) return { why: 'corrupt' };
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), why: '' };
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
