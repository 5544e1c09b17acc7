import type { ModelDescriptor } from './descriptor.js';

/*
 * TF.js graph models in @tensorflow-models/coco-ssd's layout (ssdlite_mobilenet_v2,
 * ssd_mobilenet_v1, ssd_mobilenet_v2), run as given on the tfjs engine: the graph is TF ops
 * converted by tensorflowjs_converter, not an SSD ssdpipe describes layer by layer, so it is not
 * lowered to ONNX. Pure: the caller reads the files (model-io/load-tfjs-graph.ts).
 *
 * What coco-ssd's own src/index.ts does with these graphs, and what ssdpipe does instead:
 * - Input image_tensor, int32 [1, H, W, 3] pixels 0..255 of any size: the graph resizes to
 *   300x300 itself (Preprocessor/ResizeImage, TF's bilinear) and normalizes. ssdpipe resizes
 *   frames to 300x300 with the same legacy bilinear (model/preprocess.ts) so frames of any size
 *   batch together, and feeds rounded pixels; the graph's own resize is then 300 -> 300.
 * - Outputs Postprocessor/Slice, scores [N, 1917, 90] after the sigmoid without the background
 *   column (column c is COCO id c + 1), and Postprocessor/ExpandDims_1, boxes [N, 1917, 1, 4]
 *   already decoded against the anchors, [ymin, xmin, ymax, xmax] normalized. coco-ssd runs them
 *   with executeAsync (the graph has control flow), as the engine does.
 * - Post-processing: coco-ssd keeps each box's best class and runs one class-agnostic NMS
 *   (tf.image.nonMaxSuppression with maxNumBoxes 20, and minScore 0.5 as both its IoU and its
 *   score threshold). ssdpipe keeps its usual class-wise NMS over every class column with the
 *   same thresholds and count as defaults; --class-agnostic comes closer to coco-ssd.
 */

/** What the tfjs engine needs to run a TF.js graph model as given. */
export interface TfjsGraphModel {
  readonly kind: 'tfjs-graph';
  /** model.json: a file path or an http(s) URL (its shards are next to it). */
  readonly source: string;
  readonly inputName: string;
  /** Output node names: scores [N, A, C] (probabilities) and decoded boxes [N, A, 1, 4]. */
  readonly outputNames: { readonly scores: string; readonly boxes: string };
  /** The size frames are resized to before they are fed (the graph may resize again). */
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly numAnchors: number;
  readonly numClasses: number;
}

/** True for a TfjsGraphModel (as opposed to an SsdGraph or an OnnxModelFile). */
export function isTfjsGraphModel(m: object): m is TfjsGraphModel {
  return (m as { kind?: unknown }).kind === 'tfjs-graph';
}

/** coco-ssd's graph layout: node names and sizes (the three official bases share it). */
export const COCO_SSD_GRAPH_LAYOUT = {
  inputName: 'image_tensor',
  outputNames: { scores: 'Postprocessor/Slice', boxes: 'Postprocessor/ExpandDims_1' },
  inputSize: 300,
  /** The TF OD API's 300x300 SSD anchors: 19²·3 + (10² + 5² + 3² + 2² + 1²)·6. */
  numAnchors: 1917,
  /** COCO ids 1..90 (10 of them unused), no background column. */
  numClasses: 90,
} as const;

/** coco-ssd's defaults: detect(img, maxNumBoxes = 20, minScore = 0.5), minScore also the IoU threshold. */
export const COCO_SSD_POSTPROCESS = { scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 20, classAgnostic: false } as const;

/**
 * The descriptor and engine view of a coco-ssd-layout graph model at `source`. labels: one per
 * score column (90; null for COCO ids the dataset does not use).
 */
export function cocoSsdGraphModel(source: string, name: string, labels: readonly (string | null)[]): { descriptor: ModelDescriptor; model: TfjsGraphModel } {
  const L = COCO_SSD_GRAPH_LAYOUT;
  const size = L.inputSize;
  const descriptor: ModelDescriptor = {
    name,
    description: `TF.js graph model in @tensorflow-models/coco-ssd's layout (${source})`,
    weights: { format: 'tfjs-graph', path: source },
    // Pixels 0..255 as they are: the graph normalizes them itself.
    input: { width: size, height: size, resize: 'stretch', normalize: { scale: 1, offset: 0 } },
    network: { imported: 'tfjs-graph', numClasses: L.numClasses },
    anchors: { type: 'none', count: L.numAnchors },
    boxCoder: { type: 'none' },
    scores: { activation: 'none', backgroundClass: null },
    labels: [...labels],
    postprocess: { ...COCO_SSD_POSTPROCESS },
  };
  const model: TfjsGraphModel = {
    kind: 'tfjs-graph',
    source,
    inputName: L.inputName,
    outputNames: { ...L.outputNames },
    inputHeight: size,
    inputWidth: size,
    numAnchors: L.numAnchors,
    numClasses: L.numClasses,
  };
  return { descriptor, model };
}

/**
 * Why a graph (model.json's modelTopology, a GraphDef in JSON form) is not in coco-ssd's layout,
 * or undefined when it is: the input placeholder and both output nodes must be there.
 */
export function cocoSsdLayoutProblem(topology: unknown, model: Pick<TfjsGraphModel, 'inputName' | 'outputNames'>): string | undefined {
  const nodes = (topology as { node?: unknown } | null)?.node;
  if (!Array.isArray(nodes)) return 'its modelTopology has no node list (not a graph model)';
  const ops = new Map<string, unknown>();
  for (const n of nodes as { name?: unknown; op?: unknown }[]) if (typeof n?.name === 'string') ops.set(n.name, n.op);
  const missing: string[] = [];
  if (ops.get(model.inputName) !== 'Placeholder') missing.push(`input placeholder ${model.inputName}`);
  for (const out of [model.outputNames.scores, model.outputNames.boxes]) if (!ops.has(out)) missing.push(`output node ${out}`);
  return missing.length ? `it has no ${missing.join(', no ')}` : undefined;
}
