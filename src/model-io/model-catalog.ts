/*
 * Models ssdpipe can download on first use, as data: where their publishers host them, what is
 * known of their bytes, and what they are (input size, classes, anchors) so `models list` can
 * say so before anything is downloaded.
 *
 * What is known of the bytes:
 * - coco-ssd-mobilenet-v1-quant: detect.tflite inside the archive, 4183312 bytes, sha256
 *   e4b118e5...79d13 (the same file as ../shared/models/coco-ssd-mobilenet-v1-quant, whose hash
 *   also pins it in MediaPipe's and Emgu CV's download lists). Not known: the archive itself
 *   and its labelmap.txt; they are checked through what they contain (the .tflite's hash, the
 *   label count).
 * - The three TF.js graph models: no published sizes or hashes, nor a fixed shard list. Their
 *   model.json lists the shards and every weight's dtype and shape, so the shards' total size
 *   is checked against it (this catches a truncated shard); after a download, the cache records
 *   each file's size and sha256, so later corruption of the cache is caught too.
 */

/** A file whose size and SHA-256 may be known in advance. */
export interface KnownFile {
  /** File name (no folders). */
  readonly file: string;
  /** Size in bytes, when known. */
  readonly size?: number;
  /** SHA-256 (hex, lowercase), when known. */
  readonly sha256?: string;
}

/** What a catalog model is, for `models list` (read from the model files by hand, not at run time). */
export interface CatalogModelFacts {
  /** Who publishes it, in a few words. */
  readonly publisher: string;
  /** Input width x height in pixels. */
  readonly input: { readonly width: number; readonly height: number };
  /** Object classes it reports (background not counted). */
  readonly classes: number;
  readonly anchors: number;
}

/** A TF.js graph model (coco-ssd layout): model.json plus the weight shards it lists. */
export interface TfjsGraphCatalogEntry extends CatalogModelFacts {
  readonly name: string;
  readonly format: 'tfjs-graph';
  readonly description: string;
  /** Folder URL of model.json and its shards, ending in '/'. */
  readonly baseUrl: string;
  /** The file ssdpipe loads; its weightsManifest names the shards. */
  readonly entry: KnownFile & { readonly file: 'model.json' };
}

/** A zip archive holding a .tflite model and its label map. */
export interface TfliteZipCatalogEntry extends CatalogModelFacts {
  readonly name: string;
  readonly format: 'tflite-zip';
  readonly description: string;
  /** Folder URL of the archive, ending in '/'. */
  readonly baseUrl: string;
  readonly archive: KnownFile;
  /** The .tflite file in the archive (the file ssdpipe loads). */
  readonly entry: KnownFile;
  /** The label map in the archive. */
  readonly labels: KnownFile;
}

/** A downloadable model. */
export type CatalogEntry = TfjsGraphCatalogEntry | TfliteZipCatalogEntry;

/** Environment variable naming a mirror that replaces every publisher URL: <mirror>/<name>/<file>. */
export const MODEL_MIRROR_ENV = 'SSDPIPE_MODEL_MIRROR';

/** Where @tensorflow-models/coco-ssd loads its bases from (its src/index.ts BASE_PATH). */
const TFJS_MODELS_BASE = 'https://storage.googleapis.com/tfjs-models/savedmodel/';

/** The TF OD API's 300x300 SSD anchors: 19²·3 + (10² + 5² + 3² + 2² + 1²)·6. */
const COCO_SSD_300 = { input: { width: 300, height: 300 }, classes: 90, anchors: 1917 } as const;

/** The downloadable models, by name. */
export const MODEL_CATALOG: readonly CatalogEntry[] = [
  {
    name: 'coco-ssd-mobilenet-v1-quant',
    format: 'tflite-zip',
    description: 'COCO SSD MobileNet V1, uint8 TFLite (TensorFlow Lite object detection starter model)',
    baseUrl: 'https://storage.googleapis.com/download.tensorflow.org/models/tflite/',
    // Size and hash of the archive not known (see the header comment).
    archive: { file: 'coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.zip' },
    entry: { file: 'detect.tflite', size: 4_183_312, sha256: 'e4b118e5e4531945de2e659742c7c590f7536f8d0ed26d135abcfe83b4779d13' },
    // Not known; its first line is '???' (background), dropped when extracted (see pull-model.ts).
    labels: { file: 'labelmap.txt' },
    publisher: 'TensorFlow Lite (TFLite zip)',
    ...COCO_SSD_300,
  },
  {
    name: 'coco-ssdlite-mobilenet-v2',
    format: 'tfjs-graph',
    description: 'COCO SSDLite MobileNet V2, TF.js graph model (@tensorflow-models/coco-ssd "lite_mobilenet_v2", its default)',
    baseUrl: `${TFJS_MODELS_BASE}ssdlite_mobilenet_v2/`,
    entry: { file: 'model.json' }, // size and hash not known
    publisher: '@tensorflow-models/coco-ssd (TF.js)',
    ...COCO_SSD_300,
  },
  {
    name: 'coco-ssd-mobilenet-v1',
    format: 'tfjs-graph',
    description: 'COCO SSD MobileNet V1, TF.js graph model (@tensorflow-models/coco-ssd "mobilenet_v1")',
    baseUrl: `${TFJS_MODELS_BASE}ssd_mobilenet_v1/`,
    entry: { file: 'model.json' }, // size and hash not known
    publisher: '@tensorflow-models/coco-ssd (TF.js)',
    ...COCO_SSD_300,
  },
  {
    name: 'coco-ssd-mobilenet-v2',
    format: 'tfjs-graph',
    description: 'COCO SSD MobileNet V2, TF.js graph model (@tensorflow-models/coco-ssd "mobilenet_v2")',
    baseUrl: `${TFJS_MODELS_BASE}ssd_mobilenet_v2/`,
    entry: { file: 'model.json' }, // size and hash not known
    publisher: '@tensorflow-models/coco-ssd (TF.js)',
    ...COCO_SSD_300,
  },
];

/** The catalog entry of a name, or undefined. */
export function findCatalogEntry(name: string, catalog: readonly CatalogEntry[] = MODEL_CATALOG): CatalogEntry | undefined {
  return catalog.find((e) => e.name === name);
}

/**
 * The URL of one of an entry's files: from its publisher, or <mirror>/<name>/<file> when a mirror
 * is given (SSDPIPE_MODEL_MIRROR: a company mirror, or a test server on 127.0.0.1).
 */
export function catalogFileUrl(entry: CatalogEntry, file: string, mirror?: string): string {
  if (mirror) return `${mirror.replace(/\/+$/, '')}/${encodeURIComponent(entry.name)}/${encodeURIComponent(file)}`;
  return new URL(encodeURIComponent(file), entry.baseUrl).href;
}
