import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { anchorCount } from '../model/anchors.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { listBundledModels, readDescriptor, resolveDescriptorPath } from './load-model.js';
import { MODEL_CATALOG, type CatalogEntry } from './model-catalog.js';
import { cachedModel, type PullOptions } from './pull-model.js';
import { resolveManifestPath } from './read-weights.js';

/** One model as `ssdpipe models list` shows it. */
export interface ModelListing {
  readonly name: string;
  /** 'bundled' (models/*.json) or 'download' (the catalog). */
  readonly kind: 'bundled' | 'download';
  /** Where its weights come from: an npm package, a file, or a publisher. */
  readonly source: string;
  /** The URL it is downloaded from (downloadable models). */
  readonly url?: string;
  readonly input: { readonly width: number; readonly height: number };
  /** Object classes it reports (background not counted). */
  readonly classes: number;
  readonly anchors: number;
  /** Whether it can run without a network now: bundled weights present, or cached and verified. */
  readonly offline: boolean;
  /** What to do or know, in a few words: how to get it, why it cannot run. */
  readonly note: string;
  readonly description: string;
}

/**
 * Every model ssdpipe knows: the bundled descriptors (models/*.json) and the downloadable ones,
 * each with whether it is available offline now. A downloaded model's files are re-hashed.
 */
export function listModels(options: PullOptions = {}): ModelListing[] {
  return [...listBundledModels().map(bundledListing), ...MODEL_CATALOG.map((e) => catalogListing(e, options))];
}

function bundledListing(name: string): ModelListing {
  const d = readDescriptor(resolveDescriptorPath(name));
  const weights = weightsPresent(d, name);
  return {
    name,
    kind: 'bundled',
    source: d.weights.format === 'tfjs-manifest' && d.weights.package ? `npm ${d.weights.package}` : weightsPath(d),
    input: { width: d.input.width, height: d.input.height },
    classes: d.labels.filter((l) => l !== null).length,
    anchors: anchorCount(d.anchors),
    offline: weights,
    note: weights ? '' : 'weights missing: run npm ci',
    description: d.description ?? '',
  };
}

function catalogListing(entry: CatalogEntry, options: PullOptions): ModelListing {
  const cached = cachedModel(entry, options) !== undefined;
  const file = entry.format === 'tflite-zip' ? entry.archive.file : entry.entry.file;
  return {
    name: entry.name,
    kind: 'download',
    source: entry.publisher,
    url: new URL(file, entry.baseUrl).href,
    input: entry.input,
    classes: entry.classes,
    anchors: entry.anchors,
    offline: cached,
    note: cached ? '' : `ssdpipe models pull ${entry.name}`,
    description: entry.description,
  };
}

/** Whether a bundled descriptor's weight files are all on disk (the manifest and every shard it lists). */
function weightsPresent(d: ModelDescriptor, name: string): boolean {
  try {
    const manifest = d.weights.format === 'tfjs-manifest' ? resolveManifestPath(d.weights, path.dirname(resolveDescriptorPath(name))) : weightsPath(d);
    if (d.weights.format !== 'tfjs-manifest') return existsSync(manifest);
    const groups = JSON.parse(readFileSync(manifest, 'utf8')) as { paths: string[] }[];
    return groups.every((g) => g.paths.every((p) => existsSync(path.join(path.dirname(manifest), p))));
  } catch {
    return false;
  }
}

function weightsPath(d: ModelDescriptor): string {
  return d.weights.format === 'tfjs-manifest' ? d.weights.manifest : d.weights.path;
}

/** Lines after the table: how to use a model that is a file rather than a name, and where downloads go. */
export function modelFileUsage(cacheDir: string): string[] {
  return [
  'A .tflite SSD file: --model path/to/detect.tflite [--labels labelmap.txt] (labels from the file\'s metadata otherwise).',
  'A model descriptor: --model path/to/model.json (the format of models/*.json).',
  'A TF.js graph model in @tensorflow-models/coco-ssd\'s layout: --model path/to/model.json, its folder, or its http(s) URL (tfjs engine; COCO labels, or --labels).',
  `Downloads go to ${cacheDir} (SSDPIPE_CACHE_DIR moves it); SSDPIPE_MODEL_MIRROR=<url> fetches <url>/<name>/<file> instead; HTTPS_PROXY is honoured.`,
  'ONNX: ssdpipe models export <model> -o model.onnx writes an SSD ONNX and its sidecar model.json (input, anchors, box coder, labels) for other tools.',
  ];
}

/** The table `ssdpipe models list` prints: one model a line, then how to use model files. */
export function formatModelList(rows: readonly ModelListing[], cacheDir: string): string {
  const header = ['NAME', 'FROM', 'INPUT', 'CLASSES', 'ANCHORS', 'OFFLINE', 'NOTE'];
  const cells = rows.map((r) => [
    r.name,
    r.kind === 'bundled' ? `bundled, ${r.source}` : `download, ${r.source}`,
    `${r.input.width}x${r.input.height}`,
    String(r.classes),
    String(r.anchors),
    r.offline ? (r.kind === 'bundled' ? 'yes' : 'yes (cached)') : 'no',
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...cells.map(line), '', ...modelFileUsage(cacheDir)].join('\n');
}
