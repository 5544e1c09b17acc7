/**
 * A model description: everything a runtime needs to run an SSD, as data (models/*.json).
 * The network is described once here; engines (TF.js, ONNX) lower the same graph
 * (see ssd-graph.ts), so no runtime has a hand-written copy of the network.
 */

/** Where the weights come from. */
export type WeightsSource = TfjsManifestSource | TfliteSource | OnnxFileSource | TfjsGraphSource;

/** A TF.js weights manifest (uint8-quantized or float32 groups), found in an npm package or on disk. */
export interface TfjsManifestSource {
  format: 'tfjs-manifest';
  package?: string;
  manifest: string;
}

/** A TFLite flatbuffer that holds the whole network (see tflite/tflite-to-ssd.ts). */
export interface TfliteSource {
  format: 'tflite';
  path: string;
}

/** An ONNX SSD with raw outputs, described by its sidecar JSON (see onnx/onnx-model-file.ts); run as given. */
export interface OnnxFileSource {
  format: 'onnx';
  path: string;
}

/**
 * A TF.js graph model (model.json + weight shards) in @tensorflow-models/coco-ssd's layout, run as
 * given on the tfjs engine (see tfjs-graph-model.ts): a path to model.json or an http(s) URL.
 */
export interface TfjsGraphSource {
  format: 'tfjs-graph';
  path: string;
}

/** How a source frame becomes the model's input tensor. */
export interface InputSpec {
  width: number;
  height: number;
  /** stretch: resize to width x height ignoring aspect (TF OD API fixed_shape_resizer);
   *  letterbox: keep aspect, pad bottom/right with black (face-api's padToSquare then resize). */
  resize: 'stretch' | 'letterbox';
  /** model input = pixel * scale + offset, per channel, RGB order. */
  normalize: { scale: number; offset: number };
}

/** MobileNet V1 backbone (TF OD API / face-api naming). */
export interface MobilenetV1Spec {
  type: 'mobilenet_v1';
  /** Output channels of conv_0 then of each of the 13 pointwise layers (depth multiplier applied). */
  channels: number[];
  /** 1-based depthwise blocks with stride 2. */
  stride2Blocks: number[];
  /** Epsilon of the depthwise layers' batch norm. */
  batchNormEpsilon: number;
  /** Weight name prefixes; {i} is the 1-based block. */
  names: { conv0: string; depthwise: string; pointwise: string };
}

/** An extra feature layer after the backbone: conv + folded bias + ReLU6. */
export interface ExtraLayerSpec {
  name: string;
  kernel: number;
  stride: number;
  filters: number;
}

/** A box predictor reading one feature map. */
export interface PredictorSpec {
  /** Name of the layer whose output it reads (a backbone or extra layer). */
  source: string;
  /** Weight name prefix, e.g. Prediction/BoxPredictor_0. */
  name: string;
  anchorsPerCell: number;
  /** Kernel of the box and class convs (stride 1, TF SAME padding); default 1. Caffe SSD uses 3. */
  kernel?: number;
}

/** The network graph: backbone, extra layers, box predictors. */
export interface MobilenetSsdNetworkSpec {
  backbone: MobilenetV1Spec;
  extras: ExtraLayerSpec[];
  predictors: PredictorSpec[];
  /** Score columns the class predictors emit (including background when present). */
  numClasses: number;
}

/** A network read from a model file (weights.format says which); its layers come from that file. */
export interface ImportedNetworkSpec {
  imported: 'tflite' | 'onnx' | 'tfjs-graph';
  /** Score columns the class predictors emit (including background when present). */
  numClasses: number;
}

/**
 * A network written as a list of layers (VGG-style SSD, e.g. models/architectures/ssd300-vgg16.json).
 * Each layer reads the one before it unless `input` names another (or 'input', the image).
 * Weights: conv `<name>/weights` [k, k, in, out] (TF layout) and `<name>/biases` [out];
 * l2norm `<name>/scale` [C]; predictors as for MobileNet SSD.
 */
export interface LayerListNetworkSpec {
  type: 'layers';
  layers: LayerSpec[];
  predictors: PredictorSpec[];
  /** Score columns the class predictors emit (including background when present). */
  numClasses: number;
}

/** One entry of a layer-list network. */
export type LayerSpec = ConvLayerSpec | MaxPoolLayerSpec | L2NormLayerSpec;

/** Convolution + bias + activation, Caffe/PyTorch padding: `pad` zeros on every side, output floor((n + 2 pad - dilation (k - 1) - 1) / stride) + 1. */
export interface ConvLayerSpec {
  op: 'conv';
  name: string;
  input?: string;
  kernel: number;
  /** Default 1. */
  stride?: number;
  pad: number;
  /** Dilation (atrous rate), default 1: SSD300's fc6 uses 6. */
  dilation?: number;
  filters: number;
  activation: 'relu' | 'relu6' | 'linear';
}

/**
 * Max pooling, Caffe/PyTorch padding (padded cells never win). ceilMode rounds the output size
 * up as Caffe does (SSD300's pool3: 75 -> 38); the extra row/column is padding at the bottom/right.
 */
export interface MaxPoolLayerSpec {
  op: 'maxpool';
  name: string;
  input?: string;
  kernel: number;
  stride: number;
  /** Default 0. */
  pad?: number;
  /** Default false (floor). */
  ceilMode?: boolean;
}

/**
 * L2 normalization across channels at each position, times a learned per-channel scale
 * (Caffe's Normalize with across_spatial false, channel_shared false; SSD300's conv4_3_norm).
 */
export interface L2NormLayerSpec {
  op: 'l2norm';
  name: string;
  input?: string;
  /** The scale's value at initialization before training (20 in SSD300); the weights hold the learned one. */
  initialScale?: number;
}

/** The network: described layer by layer (MobileNet SSD, a layer list) or imported from a model file. */
export type NetworkSpec = MobilenetSsdNetworkSpec | LayerListNetworkSpec | ImportedNetworkSpec;

/** TF Object Detection API multiple_grid_anchor_generator (ssd_anchor_generator.proto). */
export interface TfMultipleGridAnchorSpec {
  type: 'tf-multiple-grid';
  /** Feature map sizes [rows] (square maps), highest resolution first. */
  featureMaps: number[];
  minScale: number;
  maxScale: number;
  aspectRatios: number[];
  /** Layer 0 uses (0.1, 1.0), (minScale, 2.0), (minScale, 0.5) only. */
  reduceBoxesInLowestLayer: boolean;
  /** Aspect ratio of the extra anchor at scale sqrt(s_i * s_{i+1}); 0 or absent: none. */
  interpolatedScaleAspectRatio: number;
  /** Where the interpolated anchor sits in each cell's list: after the aspect-ratio-1.0 anchor
   *  (older API, the face model) or last (newer API, TFLite COCO SSD). */
  interpolatedPosition: 'after-unit' | 'last';
  baseAnchorSize?: [number, number];
}

/** Original Caffe SSD PriorBox layers (Liu et al. 2016). Sizes are in input pixels. */
export interface CaffePriorBoxSpec {
  type: 'caffe-prior-box';
  imageSize: number;
  featureMaps: number[];
  steps: number[];
  minSizes: number[];
  maxSizes: number[];
  /** Per layer, ratios other than 1 (flip adds the reciprocals). */
  aspectRatios: number[][];
  flip: boolean;
  clip: boolean;
  offset: number;
}

/** Anchors given as values, e.g. a TFLite model's anchor constant. */
export interface ExplicitAnchorSpec {
  type: 'explicit';
  /** [numAnchors * 4] as [cy, cx, h, w], normalized to the model input. */
  values: ArrayLike<number>;
}

/**
 * No anchors: the network decodes its own boxes (boxCoder 'none', e.g. coco-ssd's TF.js graphs,
 * whose Postprocessor decodes against anchors inside the graph). `count` boxes per frame.
 */
export interface NoAnchorSpec {
  type: 'none';
  count: number;
}

/** Anchor generator configuration. */
export type AnchorSpec = TfMultipleGridAnchorSpec | CaffePriorBoxSpec | ExplicitAnchorSpec | NoAnchorSpec;

/** How box encodings are decoded against anchors. */
export type BoxCoderSpec =
  /** TF OD API faster_rcnn_box_coder: encodings (ty, tx, th, tw) divided by scales (10, 10, 5, 5). */
  | { type: 'tf'; scales: [number, number, number, number] }
  /** Caffe SSD: encodings (tx, ty, tw, th) multiplied by variances (0.1, 0.1, 0.2, 0.2). */
  | { type: 'caffe'; variances: [number, number, number, number] }
  /** Boxes already decoded by the network: [ymin, xmin, ymax, xmax] normalized, used as given (anchors 'none'). */
  | { type: 'none' };

/** How class scores are read from the class predictor's columns. */
export interface ScoreSpec {
  /** none: the columns are probabilities already (the network applied its own sigmoid). */
  activation: 'sigmoid' | 'softmax' | 'none';
  /** Column holding background, skipped when reporting; null when there is none. */
  backgroundClass: number | null;
}

/** Post-processing defaults (the CLI's --score, --iou, --max-detections override them). */
export interface PostprocessDefaults {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  /** NMS over all classes together (the CLI's --class-agnostic); default false. */
  classAgnostic?: boolean;
}

/** A complete model description. */
export interface ModelDescriptor {
  name: string;
  description: string;
  weights: WeightsSource;
  input: InputSpec;
  network: NetworkSpec;
  anchors: AnchorSpec;
  boxCoder: BoxCoderSpec;
  scores: ScoreSpec;
  /** One label per score column (column i -> labels[i]); null marks a column never reported
   *  (background, or a column the model was not trained on). */
  labels: (string | null)[];
  postprocess: PostprocessDefaults;
  license?: string;
}
