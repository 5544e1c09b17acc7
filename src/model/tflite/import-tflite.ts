import type { ModelDescriptor } from '../descriptor.js';
import type { SsdGraph } from '../ssd-graph.js';
import { columnLabels, parseLabelMap } from './labels.js';
import { metadataLabels } from './metadata.js';
import { readTflite } from './read-tflite.js';
import { tfliteToSsd, type TfliteSsd } from './tflite-to-ssd.js';

/** Score threshold used when the file leaves thresholding to the app (TF OD API exports say 1e-8). */
export const DEFAULT_TFLITE_SCORE_THRESHOLD = 0.5;

/** Below this, a file's nms_score_threshold means "no threshold" rather than a choice. */
const MEANINGFUL_SCORE_THRESHOLD = 0.05;

/** Options of importTflite. */
export interface ImportTfliteOptions {
  /** Where the bytes came from (a path): names the model in errors and the descriptor. */
  source: string;
  /** Model name for the descriptor; default: the file name without .tflite. */
  name?: string;
  /** A label map's text (labelmap.txt); default: the labels packed in the file's metadata. */
  labelMap?: string;
}

/** A .tflite SSD as ssdpipe runs it: descriptor (input, anchors, coder, labels, NMS), graph, import details. */
export interface ImportedTflite {
  readonly descriptor: ModelDescriptor;
  readonly graph: SsdGraph;
  readonly ssd: TfliteSsd;
  /** Where the labels came from. */
  readonly labelSource: 'label map' | 'metadata' | 'none';
}

/**
 * Reads a .tflite SSD from its bytes: parses the flatbuffer, lowers it (tfliteToSsd) and
 * describes it. Labels: the given label map, else the file's metadata, else `class <n>`.
 * NMS defaults follow the post-process op: its IoU and max detections, class-agnostic unless
 * it uses regular (per-class) NMS, and its score threshold unless that is a placeholder.
 */
export function importTflite(bytes: Uint8Array, options: ImportTfliteOptions): ImportedTflite {
  const model = readTflite(bytes, { source: options.source });
  const ssd = tfliteToSsd(model, { source: options.source });
  const packed = options.labelMap === undefined ? metadataLabels(model, bytes) : null;
  const text = options.labelMap ?? packed;
  const labels = columnLabels(text === null ? null : parseLabelMap(text, ssd.nms.numClasses), ssd.graph.numClasses, ssd.labelOffset);
  const name = options.name ?? options.source.replace(/^.*[\\/]/, '').replace(/\.tflite$/i, '');
  const { nms } = ssd;
  const descriptor: ModelDescriptor = {
    name,
    description: `TFLite SSD ${name} (${ssd.graph.inputWidth}x${ssd.graph.inputHeight}, ${ssd.graph.numAnchors} anchors, ${nms.numClasses} classes), imported from ${options.source}`,
    weights: { format: 'tflite', path: options.source },
    input: ssd.input,
    network: { imported: 'tflite', numClasses: ssd.graph.numClasses },
    anchors: { type: 'explicit', values: ssd.anchors },
    boxCoder: ssd.boxCoder,
    scores: ssd.scores,
    labels,
    postprocess: {
      scoreThreshold: nms.scoreThreshold >= MEANINGFUL_SCORE_THRESHOLD ? nms.scoreThreshold : DEFAULT_TFLITE_SCORE_THRESHOLD,
      iouThreshold: nms.iouThreshold,
      maxDetections: nms.maxDetections,
      classAgnostic: !nms.useRegularNms,
    },
  };
  return { descriptor, graph: ssd.graph, ssd, labelSource: options.labelMap !== undefined ? 'label map' : packed !== null ? 'metadata' : 'none' };
}
