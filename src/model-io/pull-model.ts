import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import envPaths from 'env-paths';
import { unzipSync } from 'fflate';
import type { Dispatcher } from 'undici';
import { ModelError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { CACHE_DIR_ENV } from '../engines/onnx-cache.js';
import { downloadFile, httpClient, proxyForUrl, type DownloadedFile, type ExpectedBytes, type ProxyEnv } from './download.js';
import { DownloadProgress } from './download-progress.js';
import {
  catalogFileUrl, findCatalogEntry, MODEL_CATALOG, MODEL_MIRROR_ENV,
  type CatalogEntry, type KnownFile, type TfjsGraphCatalogEntry, type TfliteZipCatalogEntry,
} from './model-catalog.js';

/*
 * The model cache: <cache>/models/<name>/ holds a catalog model's files and, written last,
 * ssdpipe-model.json recording each file's size, SHA-256, URL and ETag. A model is available
 * offline when that record exists and every file still has its recorded size and hash (and the
 * catalog's known ones). A file that is shorter than recorded (a truncated cache entry) is
 * turned back into a partial download and resumed with a Range request; any other bad file is
 * fetched again; good files are kept.
 */

/** Name of the record written once a model's files are all in place. */
export const MODEL_RECORD = 'ssdpipe-model.json';

/** Bumped when the cache layout changes, so older records are not trusted. */
const RECORD_VERSION = 1;

/** An archive entry larger than this is not a model (a zip bomb guard). */
const MAX_EXTRACTED_BYTES = 512 * 1024 * 1024;

/** Environment that steers downloads: cache dir, mirror, proxies. */
export type PullEnv = ProxyEnv & { [CACHE_DIR_ENV]?: string; [MODEL_MIRROR_ENV]?: string };

/** Options of pullModel and cachedModel. */
export interface PullOptions {
  /** Cache root (models go to <cacheDir>/models/<name>); default $SSDPIPE_CACHE_DIR or the user's cache dir. */
  cacheDir?: string;
  /** Base URL replacing the publishers' (<mirror>/<name>/<file>); default $SSDPIPE_MODEL_MIRROR. */
  mirror?: string;
  /** Environment read for the defaults and the proxy (default process.env). */
  env?: PullEnv;
  /** Where to draw a progress bar (only when it is a TTY), e.g. process.stderr. */
  progress?: NodeJS.WriteStream;
  /** Fetch again even when the cache is valid. */
  force?: boolean;
  signal?: AbortSignal;
}

/** A file of a cached model, as recorded. */
export interface RecordedFile {
  readonly file: string;
  readonly size: number;
  readonly sha256: string;
  readonly url: string;
  /** ETag or Last-Modified of the server's copy, for resuming a truncated file. */
  readonly validator?: string;
}

/** A catalog model present and verified in the cache. */
export interface CachedModel {
  readonly name: string;
  readonly dir: string;
  /** The file to load: detect.tflite or model.json. */
  readonly modelPath: string;
  /** The label map, when the model comes with one. */
  readonly labelsPath?: string;
  readonly files: readonly RecordedFile[];
}

/** The result of a pull: the cached model, and whether anything was downloaded. */
export interface PulledModel extends CachedModel {
  readonly downloaded: boolean;
}

interface ModelRecord {
  version: number;
  name: string;
  model: string;
  labels?: string;
  files: RecordedFile[];
}

/** Where downloaded models live: $SSDPIPE_CACHE_DIR/models, else the user's cache dir (e.g. ~/.cache/ssdpipe/models). */
export function modelCacheDir(env: PullEnv = process.env): string {
  const base = env[CACHE_DIR_ENV] || envPaths('ssdpipe', { suffix: '' }).cache;
  return path.join(path.resolve(base), 'models');
}

/**
 * The cached, verified copy of a catalog model (every file re-hashed against its record and
 * the catalog's known size and hash), or undefined when it must be downloaded.
 */
export function cachedModel(entry: CatalogEntry, options: PullOptions = {}): CachedModel | undefined {
  const dir = modelDirOf(entry, options);
  const record = readRecord(dir, entry);
  if (!record) return undefined;
  const allGood = record.files.every((f) => fileMatches(path.join(dir, f.file), f) && fileMatches(path.join(dir, f.file), knownOf(entry, f.file)));
  return allGood ? toCachedModel(entry, dir, record) : undefined;
}

/** Downloads a catalog model into the cache unless a verified copy is there; returns where it is. */
export async function pullModel(nameOrEntry: string | CatalogEntry, options: PullOptions = {}): Promise<PulledModel> {
  const entry = typeof nameOrEntry === 'string' ? catalogEntryOrThrow(nameOrEntry) : nameOrEntry;
  const cached = options.force ? undefined : cachedModel(entry, options);
  if (cached) return { ...cached, downloaded: false };

  const dir = modelDirOf(entry, options);
  await mkdir(dir, { recursive: true });
  const keep = await salvage(dir, entry, options.force === true);
  const env = options.env ?? process.env;
  const mirror = options.mirror ?? env[MODEL_MIRROR_ENV];
  const firstUrl = catalogFileUrl(entry, entry.format === 'tflite-zip' ? entry.archive.file : entry.entry.file, mirror);
  const session: Session = {
    entry, dir, keep, mirror,
    client: httpClient(firstUrl, env),
    proxy: proxyForUrl(firstUrl, env),
    bar: options.progress ? new DownloadProgress({ label: entry.name, stream: options.progress }) : undefined,
    signal: options.signal,
  };
  try {
    const record = entry.format === 'tflite-zip' ? await pullTfliteZip(session, entry) : await pullTfjsGraph(session, entry);
    await writeFileAtomic(path.join(dir, MODEL_RECORD), JSON.stringify(record, null, 2) + '\n');
    return { ...toCachedModel(entry, dir, record), downloaded: true };
  } finally {
    session.bar?.finish();
    await session.client.close();
  }
}

/** Everything one pull shares. */
interface Session {
  readonly entry: CatalogEntry;
  readonly dir: string;
  /** Files of an earlier download that still verify, by name. */
  readonly keep: ReadonlyMap<string, RecordedFile>;
  readonly mirror: string | undefined;
  readonly client: Dispatcher;
  /** The proxy the client goes through, for messages. */
  readonly proxy: string | undefined;
  readonly bar: DownloadProgress | undefined;
  readonly signal: AbortSignal | undefined;
}

/** The catalog entry of a name, or a ModelError listing the names. */
export function catalogEntryOrThrow(name: string): CatalogEntry {
  const entry = findCatalogEntry(name);
  if (entry) return entry;
  throw new ModelError('E_MODEL', `no downloadable model is called ${JSON.stringify(name)}`, {
    hint: `downloadable models: ${MODEL_CATALOG.map((e) => e.name).join(', ')} (ssdpipe models list)`,
  });
}

/** model.json, then the shards its weightsManifest lists, checked against the weights' dtypes and shapes. */
async function pullTfjsGraph(s: Session, entry: TfjsGraphCatalogEntry): Promise<ModelRecord> {
  const modelJson = await fetchFile(s, entry.entry.file, entry.entry);
  const groups = shardGroups(await readFile(path.join(s.dir, modelJson.file), 'utf8'), entry.name);
  s.bar?.setTotal(modelJson.size + groups.reduce((n, g) => n + (g.bytes ?? 0), 0));
  const files = [modelJson];
  for (const group of groups) {
    const shards: RecordedFile[] = [];
    for (const file of group.paths) shards.push(await fetchFile(s, file, {}));
    const total = shards.reduce((n, f) => n + f.size, 0);
    if (group.bytes !== undefined && total !== group.bytes) {
      await Promise.all(shards.map((f) => rm(path.join(s.dir, f.file), { force: true })));
      throw new ModelError('E_WEIGHTS', `downloaded weights of ${entry.name} are ${total} bytes (${group.paths.join(', ')}), but its model.json describes ${group.bytes}`, {
        hint: 'a shard was cut short or the files do not belong together; run the command again',
      });
    }
    files.push(...shards);
  }
  return { version: RECORD_VERSION, name: entry.name, model: modelJson.file, files };
}

/** The archive, then its .tflite (checked against the known hash) and label map, extracted; the archive is removed. */
async function pullTfliteZip(s: Session, entry: TfliteZipCatalogEntry): Promise<ModelRecord> {
  const archiveUrl = catalogFileUrl(entry, entry.archive.file, s.mirror);
  const archivePath = path.join(s.dir, entry.archive.file);
  const archive = await download(s, archiveUrl, archivePath, entry.archive);
  let contents: Record<string, Uint8Array>;
  try {
    contents = unzipEntries(await readFile(archivePath), [entry.entry.file, entry.labels.file], entry.name);
  } finally {
    // Extracted or not, the archive is not kept: a bad one must be fetched again, a good one is not needed.
    await rm(archivePath, { force: true });
  }
  const model = contents[entry.entry.file]!;
  const problem = mismatch(model.byteLength, sha256(model), entry.entry);
  if (problem) {
    throw new ModelError('E_WEIGHTS', `${entry.entry.file} in ${archiveUrl} ${problem}`, {
      hint: 'the archive was corrupted in transit or is not the published one; run the command again, and check SSDPIPE_MODEL_MIRROR if set',
    });
  }
  const labels = Buffer.from(normalizeLabelMap(Buffer.from(contents[entry.labels.file]!).toString('utf8'), entry));
  const record = (file: string, bytes: Uint8Array): RecordedFile => ({ file, size: bytes.byteLength, sha256: sha256(bytes), url: archive.url, validator: archive.validator });
  await writeFileAtomic(path.join(s.dir, entry.entry.file), model);
  await writeFileAtomic(path.join(s.dir, entry.labels.file), labels);
  return { version: RECORD_VERSION, name: entry.name, model: entry.entry.file, labels: entry.labels.file, files: [record(entry.entry.file, model), record(entry.labels.file, labels)] };
}

/** One file of the model's folder: kept when it still verifies, else downloaded. */
async function fetchFile(s: Session, file: string, known: ExpectedBytes): Promise<RecordedFile> {
  const kept = s.keep.get(file);
  if (kept) {
    s.bar?.add(kept.size);
    return kept;
  }
  const url = catalogFileUrl(s.entry, file, s.mirror);
  const got = await download(s, url, path.join(s.dir, file), known);
  return { file, size: got.size, sha256: got.sha256, url, validator: got.validator };
}

async function download(s: Session, url: string, dest: string, known: ExpectedBytes): Promise<DownloadedFile & { url: string; validator?: string }> {
  const got = await downloadFile(url, dest, {
    what: s.entry.name,
    expected: { size: known.size, sha256: known.sha256 },
    dispatcher: s.client,
    proxy: s.proxy,
    byHand: s.entry.format === 'tflite-zip'
      ? `fetch ${catalogFileUrl(s.entry, s.entry.archive.file)} elsewhere, unzip it, and pass its ${s.entry.entry.file} to --model (and ${s.entry.labels.file}, without its first '???' line, to --labels)`
      : `fetch ${catalogFileUrl(s.entry, s.entry.entry.file)} and the shards it lists elsewhere`,
    onBytes: (n) => s.bar?.add(n),
    signal: s.signal,
  });
  return { ...got, url };
}

/**
 * Looks at what an earlier download left: files that still match their record are kept; a file
 * shorter than recorded becomes a `.part` with its ETag so downloadFile resumes it; the rest and
 * the record go. Returns the kept files.
 */
async function salvage(dir: string, entry: CatalogEntry, force: boolean): Promise<Map<string, RecordedFile>> {
  const keep = new Map<string, RecordedFile>();
  const record = readRecord(dir, entry);
  await rm(path.join(dir, MODEL_RECORD), { force: true });
  if (!record || force) return keep;
  for (const f of record.files) {
    const file = path.join(dir, f.file);
    if (fileMatches(file, f) && fileMatches(file, knownOf(entry, f.file))) {
      keep.set(f.file, f);
      continue;
    }
    const size = existsSync(file) ? statSync(file).size : 0;
    // Extracted files are not downloads: a bad one means fetching the archive again.
    const downloaded = entry.format === 'tfjs-graph';
    if (downloaded && size > 0 && size < f.size && f.validator) {
      await rename(file, `${file}.part`);
      await writeFile(`${file}.part.json`, JSON.stringify({ url: f.url, validator: f.validator }));
    } else {
      await rm(file, { force: true });
    }
  }
  return keep;
}

/** A weightsManifest group: its shard files and, when every dtype has a fixed size, their total bytes. */
interface ShardGroup {
  paths: string[];
  bytes: number | undefined;
}

/** Bytes per element of the dtypes TF.js writes (strings have no fixed size). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** The shard groups of a model.json, with the paths checked to stay in the model's folder. */
export function shardGroups(modelJson: string, name: string): ShardGroup[] {
  const bad = (why: string): never => {
    throw new ModelError('E_MODEL', `model.json of ${name} ${why}`, { hint: 'the download is not a TF.js graph model; run the command again, and check SSDPIPE_MODEL_MIRROR if set' });
  };
  let json: { weightsManifest?: unknown };
  try {
    json = JSON.parse(modelJson) as typeof json;
  } catch (cause) {
    return bad(`is not JSON (${(cause as Error).message})`);
  }
  if (!Array.isArray(json.weightsManifest)) bad('has no weightsManifest list');
  return (json.weightsManifest as { paths?: unknown; weights?: unknown }[]).map((g) => {
    if (!Array.isArray(g.paths) || !Array.isArray(g.weights)) bad('has a weightsManifest group without paths and weights');
    const paths = g.paths as unknown[];
    for (const p of paths) if (typeof p !== 'string' || !/^[\w.-]+$/.test(p) || p === '.' || p === '..' || p === MODEL_RECORD) bad(`lists the shard ${JSON.stringify(p)}, which is not a plain file name`);
    let bytes: number | undefined = 0;
    for (const w of g.weights as { shape?: number[]; dtype?: string; quantization?: { dtype?: string } }[]) {
      const per = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype ?? ''];
      if (per === undefined || !Array.isArray(w.shape)) {
        bytes = undefined;
        break;
      }
      bytes += per * w.shape.reduce((a, b) => a * b, 1);
    }
    return { paths: paths as string[], bytes };
  });
}

/**
 * The archive's labelmap.txt starts with '???' for the background class and then has one line
 * per class; ssdpipe's label maps start at class 0 (person), so that first line is dropped.
 */
function normalizeLabelMap(text: string, entry: TfliteZipCatalogEntry): string {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === entry.classes + 1 && lines[0] === '???') lines.shift();
  if (lines.length !== entry.classes) {
    throw new ModelError('E_MODEL', `${entry.labels.file} of ${entry.name} has ${lines.length} labels, expected ${entry.classes} (or ${entry.classes + 1} with a leading '???')`, {
      hint: 'the archive is not the published one; run the command again, and check SSDPIPE_MODEL_MIRROR if set',
    });
  }
  return lines.join('\n') + '\n';
}

/** The named files of a zip archive (found in any folder of it). */
function unzipEntries(zip: Uint8Array, names: readonly string[], model: string): Record<string, Uint8Array> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, { filter: (f) => names.includes(path.posix.basename(f.name)) && f.originalSize <= MAX_EXTRACTED_BYTES });
  } catch (cause) {
    throw new ModelError('E_MODEL', `the archive of ${model} cannot be read as a zip: ${(cause as Error).message}`, { cause, hint: 'run the command again to download it afresh' });
  }
  const out: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(files)) out[path.posix.basename(name)] = bytes;
  const missing = names.filter((n) => !out[n]);
  if (missing.length > 0) {
    throw new ModelError('E_MODEL', `the archive of ${model} has no ${missing.join(' or ')}`, { hint: 'the archive is not the published one; check SSDPIPE_MODEL_MIRROR if set' });
  }
  return out;
}

function readRecord(dir: string, entry: CatalogEntry): ModelRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(path.join(dir, MODEL_RECORD), 'utf8')) as ModelRecord;
    if (r.version !== RECORD_VERSION || r.name !== entry.name || !Array.isArray(r.files) || !r.files.some((f) => f.file === r.model)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/** Whether a file on disk has the given size and hash (either may be unknown). */
function fileMatches(file: string, known: { size?: number; sha256?: string }): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (known.size !== undefined && size !== known.size) return false;
  return known.sha256 === undefined || sha256(readFileSync(file)) === known.sha256;
}

/** The catalog's known size and hash of one of an entry's files (only its model file's may be known). */
function knownOf(entry: CatalogEntry, file: string): KnownFile {
  if (file === entry.entry.file) return entry.entry;
  if (entry.format === 'tflite-zip' && file === entry.labels.file) return entry.labels;
  return { file };
}

function mismatch(size: number, hash: string, known: KnownFile): string {
  if (known.size !== undefined && size !== known.size) return `is ${size} bytes, expected ${known.size}`;
  if (known.sha256 !== undefined && hash !== known.sha256) return `has SHA-256 ${hash}, expected ${known.sha256}`;
  return '';
}

function modelDirOf(entry: CatalogEntry, options: PullOptions): string {
  return path.join(options.cacheDir ? path.join(path.resolve(options.cacheDir), 'models') : modelCacheDir(options.env), entry.name);
}

function toCachedModel(entry: CatalogEntry, dir: string, record: ModelRecord): CachedModel {
  return {
    name: entry.name,
    dir,
    modelPath: path.join(dir, record.model),
    labelsPath: record.labels ? path.join(dir, record.labels) : undefined,
    files: record.files,
  };
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
