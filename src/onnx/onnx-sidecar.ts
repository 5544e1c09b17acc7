import { ModelError } from '../errors.js';
import { generateAnchors } from '../model/anchors.js';
import type { BoxCoderSpec, InputSpec, ModelDescriptor, PostprocessDefaults, ScoreSpec } from '../model/descriptor.js';
import type { SsdGraph } from '../model/ssd-graph.js';
import { DEFAULT_ONNX_OPSET, ONNX_INPUT_NAME, ONNX_OUTPUT_NAMES, type OnnxInputLayout } from './onnx-graph.js';

// The sidecar JSON written beside an exported .onnx: pure (no file I/O), so that the exporter
// (model-io/) and any reader of exported models can share it.

/** Version of the sidecar format, bumped on incompatible changes. */
export const ONNX_SIDECAR_VERSION = 1;

/**
 * What a consumer of the exported .onnx needs besides the graph: how to make the input, what
 * the outputs mean, the anchors and box coder to decode them, and the labels.
 */
export interface OnnxSidecar {
  format: 'ssdpipe-onnx-sidecar';
  version: number;
  /** Model name (descriptor name). */
  model: string;
  description: string;
  /** File name of the .onnx, relative to the sidecar. */
  onnx: string;
  opset: number;
  input: {
    name: string;
    layout: OnnxInputLayout;
    /** -1 is the dynamic batch dimension. */
    shape: number[];
    dtype: 'float32';
    channels: 'RGB';
    /** How a source frame is resized to the input (see descriptor InputSpec.resize). */
    resize: InputSpec['resize'];
    /** input = pixel (0..255) * scale + offset, per channel. */
    normalize: { scale: number; offset: number };
  };
  /** Keyed by meaning; `name` is the graph's output name when it differs from the key (a model not exported by ssdpipe). */
  outputs: {
    box_encodings: { name?: string; shape: number[]; dtype: 'float32'; description: string };
    class_logits: { name?: string; shape: number[]; dtype: 'float32'; description: string };
  };
  anchors: {
    /** Always 'cy,cx,h,w': centers and sizes normalized to the model input. */
    format: 'cy,cx,h,w';
    count: number;
    /** [count][4] */
    values: number[][];
  };
  boxCoder: BoxCoderSpec;
  /** Score activation and background column. */
  scores: ScoreSpec;
  /** One label per class_logits column; null for columns never reported. */
  labels: (string | null)[];
  postprocess: PostprocessDefaults;
  license?: string;
}

/** The sidecar path for an .onnx path: `face.onnx` -> `face.json`; without .onnx, `<path>.json`. */
export function sidecarPathFor(onnxPath: string): string {
  return /\.onnx$/i.test(onnxPath) ? `${onnxPath.slice(0, -'.onnx'.length)}.json` : `${onnxPath}.json`;
}

/** Builds the sidecar record of a model exported with the given layout. */
export function buildOnnxSidecar(d: ModelDescriptor, graph: SsdGraph, layout: OnnxInputLayout, onnxFileName: string): OnnxSidecar {
  const anchors = generateAnchors(d.anchors); // [A, 4] cy, cx, h, w
  if (anchors.length !== graph.numAnchors * 4) {
    throw new ModelError('E_MODEL', `model ${d.name}: the anchor spec gives ${anchors.length / 4} anchors but the network has ${graph.numAnchors}`, {
      hint: 'check anchors.featureMaps and the predictors\' anchorsPerCell in the descriptor',
    });
  }
  const values: number[][] = [];
  for (let i = 0; i < anchors.length; i += 4) {
    values.push([f32(anchors[i]), f32(anchors[i + 1]), f32(anchors[i + 2]), f32(anchors[i + 3])]);
  }
  const H = graph.inputHeight;
  const W = graph.inputWidth;
  return {
    format: 'ssdpipe-onnx-sidecar',
    version: ONNX_SIDECAR_VERSION,
    model: d.name,
    description: d.description,
    onnx: onnxFileName,
    opset: DEFAULT_ONNX_OPSET,
    input: {
      name: ONNX_INPUT_NAME,
      layout,
      shape: layout === 'nhwc' ? [-1, H, W, 3] : [-1, 3, H, W],
      dtype: 'float32',
      channels: 'RGB',
      resize: d.input.resize,
      normalize: { scale: d.input.normalize.scale, offset: d.input.normalize.offset },
    },
    outputs: {
      [ONNX_OUTPUT_NAMES.boxEncodings]: {
        shape: [-1, graph.numAnchors, 4],
        dtype: 'float32',
        description: 'box encodings per anchor, decoded with boxCoder against anchors',
      },
      [ONNX_OUTPUT_NAMES.classLogits]: {
        shape: [-1, graph.numAnchors, graph.numClasses],
        dtype: 'float32',
        description: 'class logits per anchor, before scores.activation',
      },
    } as OnnxSidecar['outputs'],
    anchors: { format: 'cy,cx,h,w', count: graph.numAnchors, values },
    boxCoder: d.boxCoder,
    scores: { activation: d.scores.activation, backgroundClass: d.scores.backgroundClass },
    labels: [...d.labels],
    postprocess: { ...d.postprocess },
    ...(d.license ? { license: d.license } : {}),
  };
}

/**
 * Pretty JSON with arrays of numbers on one line, so each anchor takes one line. The pattern
 * matches whole JSON strings first and keeps them as they are: a description that reads
 * "scales [ 10, 10, 5, 5 ]" is text, not an array, and must round-trip unchanged.
 */
export function formatSidecar(sidecar: OnnxSidecar): string {
  const text = JSON.stringify(sidecar, null, 2);
  const stringOrNumberList = /"(?:[^"\\]|\\.)*"|\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g;
  return `${text.replace(stringOrNumberList, (match, items: string | undefined) => (items === undefined ? match : `[${items.split(/,\s*/).join(', ')}]`))}\n`;
}

/** Shortest decimal that reads back as the same float32 (keeps the JSON small). */
function f32(v: number): number {
  for (let p = 6; p < 9; p++) {
    const short = Number(v.toPrecision(p));
    if (Math.fround(short) === v) return short;
  }
  return Number(v.toPrecision(9));
}
