import { ModelError } from '../errors.js';
import type { BoxCoderSpec, ModelDescriptor, PostprocessDefaults, ScoreSpec } from '../model/descriptor.js';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAMES, type OnnxInputLayout } from './onnx-graph.js';
import { ONNX_SIDECAR_VERSION } from './onnx-sidecar.js';

// An ONNX SSD with raw outputs, run as given (not regenerated from an SsdGraph): its sidecar JSON
// (the format onnx-sidecar.ts writes) says how to feed it and how to decode what it returns.
// Pure: the caller reads the files (model-io/load-onnx.ts).

/** What the ONNX engine needs to run an .onnx file as given. */
export interface OnnxModelFile {
  readonly kind: 'onnx-file';
  /** The .onnx file; the engine reads it where it runs (a worker thread). */
  readonly path: string;
  readonly inputName: string;
  /** Layout of the file's input; engines take NHWC and transpose for nchw. */
  readonly layout: OnnxInputLayout;
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly numAnchors: number;
  readonly numClasses: number;
  /** Output names: [batch, A, 4] box encodings and [batch, A, C] class logits. */
  readonly outputNames: { readonly boxEncodings: string; readonly classLogits: string };
}

/** True for an OnnxModelFile (as opposed to an SsdGraph). */
export function isOnnxModelFile(m: object): m is OnnxModelFile {
  return (m as { kind?: unknown }).kind === 'onnx-file';
}

/**
 * Checks a parsed sidecar and turns it into a model descriptor (explicit anchors, the sidecar's
 * box coder, scores, labels, input normalization) and the engine's view of the file.
 * `where` names the sidecar in errors.
 */
export function onnxModelFromSidecar(raw: unknown, onnxPath: string, where: string): { descriptor: ModelDescriptor; file: OnnxModelFile } {
  const fail = (field: string, expected: string, received?: unknown): never => {
    const got = received === undefined ? '' : `, received ${JSON.stringify(received)?.slice(0, 80)}`;
    throw new ModelError('E_MODEL', `ONNX sidecar ${where}: ${field} must be ${expected}${got}`, {
      hint: 'an .onnx SSD needs the sidecar JSON `ssdpipe models export` writes next to it (<name>.json): input size and layout, normalization, output names, anchors, box coder, scores and labels',
    });
  };
  const s = obj(raw) ?? fail('the file', 'a JSON object');
  if (s.format !== 'ssdpipe-onnx-sidecar') fail('format', '"ssdpipe-onnx-sidecar"', s.format);
  if (!Number.isInteger(s.version) || (s.version as number) < 1 || (s.version as number) > ONNX_SIDECAR_VERSION) fail('version', `1..${ONNX_SIDECAR_VERSION}`, s.version);

  const input = obj(s.input) ?? fail('input', 'an object');
  const layout = input.layout;
  if (layout !== 'nhwc' && layout !== 'nchw') fail('input.layout', '"nhwc" or "nchw"', layout);
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d))) fail('input.shape', 'four integers', shape);
  const [, d1, d2, d3] = shape as number[];
  const [H, W, ch] = layout === 'nhwc' ? [d1, d2, d3] : [d2, d3, d1];
  if (!(H > 0 && W > 0) || ch !== 3) fail('input.shape', layout === 'nhwc' ? '[batch, H, W, 3]' : '[batch, 3, H, W]', shape);
  if (input.dtype !== undefined && input.dtype !== 'float32') fail('input.dtype', '"float32"', input.dtype);
  if (input.channels !== undefined && input.channels !== 'RGB') fail('input.channels', '"RGB"', input.channels);
  const resize = input.resize ?? 'stretch';
  if (resize !== 'stretch' && resize !== 'letterbox') fail('input.resize', '"stretch" or "letterbox"', resize);
  const norm = obj(input.normalize) ?? fail('input.normalize', 'an object {scale, offset}');
  if (!isFiniteNumber(norm.scale) || !isFiniteNumber(norm.offset)) fail('input.normalize', 'numbers {scale, offset}', norm);
  const inputName = input.name ?? ONNX_INPUT_NAME;
  if (typeof inputName !== 'string' || inputName === '') fail('input.name', 'a string', inputName);

  const anchors = obj(s.anchors) ?? fail('anchors', 'an object {format, count, values}');
  if (anchors.format !== 'cy,cx,h,w') fail('anchors.format', '"cy,cx,h,w"', anchors.format);
  const values = anchors.values;
  if (!Array.isArray(values) || values.length === 0) fail('anchors.values', 'a non-empty list of [cy, cx, h, w]');
  const A = (values as unknown[]).length;
  if (anchors.count !== undefined && anchors.count !== A) fail('anchors.count', `the number of anchors.values (${A})`, anchors.count);
  const flat = new Float32Array(A * 4); // [A, 4] cy, cx, h, w
  (values as unknown[]).forEach((v, i) => {
    if (!Array.isArray(v) || v.length !== 4 || !v.every(isFiniteNumber)) fail(`anchors.values[${i}]`, 'four numbers [cy, cx, h, w]', v);
    flat.set(v as number[], i * 4);
  });

  const labels = s.labels;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => l === null || typeof l === 'string')) fail('labels', 'a list of labels (strings, null for unreported columns)');
  const C = (labels as unknown[]).length;
  const outputs = obj(s.outputs) ?? fail('outputs', 'an object {box_encodings, class_logits}');
  const outputName = (key: string, perAnchor: number): string => {
    const o = obj(outputs[key]) ?? fail(`outputs.${key}`, 'an object');
    const oShape = o.shape;
    if (oShape !== undefined && (!Array.isArray(oShape) || oShape.length !== 3 || oShape[1] !== A || oShape[2] !== perAnchor)) {
      fail(`outputs.${key}.shape`, `[batch, ${A}, ${perAnchor}] (${A} anchors${key === 'class_logits' ? `, ${C} labels` : ''})`, oShape);
    }
    const name = o.name ?? key;
    if (typeof name !== 'string' || name === '') fail(`outputs.${key}.name`, 'a string', name);
    return name as string;
  };
  const outputNames = { boxEncodings: outputName(ONNX_OUTPUT_NAMES.boxEncodings, 4), classLogits: outputName(ONNX_OUTPUT_NAMES.classLogits, C) };

  const coder = obj(s.boxCoder) ?? fail('boxCoder', 'an object');
  const four = (v: unknown): boolean => Array.isArray(v) && v.length === 4 && v.every((x) => isFiniteNumber(x) && x !== 0);
  if (!(coder.type === 'tf' && four(coder.scales)) && !(coder.type === 'caffe' && four(coder.variances))) {
    fail('boxCoder', '{type: "tf", scales: [4 numbers]} or {type: "caffe", variances: [4 numbers]}', coder);
  }
  const scores = obj(s.scores) ?? fail('scores', 'an object {activation, backgroundClass}');
  if (scores.activation !== 'sigmoid' && scores.activation !== 'softmax') fail('scores.activation', '"sigmoid" or "softmax"', scores.activation);
  const bg = scores.backgroundClass ?? null;
  if (bg !== null && !(Number.isInteger(bg) && (bg as number) >= 0 && (bg as number) < C)) fail('scores.backgroundClass', `null or a column in 0..${C - 1}`, bg);
  const post = obj(s.postprocess) ?? fail('postprocess', 'an object {scoreThreshold, iouThreshold, maxDetections}');
  if (!isFiniteNumber(post.scoreThreshold) || !isFiniteNumber(post.iouThreshold) || !(Number.isInteger(post.maxDetections) && (post.maxDetections as number) > 0)) {
    fail('postprocess', 'an object {scoreThreshold, iouThreshold, maxDetections}', post);
  }
  if (post.classAgnostic !== undefined && typeof post.classAgnostic !== 'boolean') fail('postprocess.classAgnostic', 'true or false', post.classAgnostic);

  const name = typeof s.model === 'string' && s.model !== '' ? s.model : baseName(onnxPath);
  const descriptor: ModelDescriptor = {
    name,
    description: typeof s.description === 'string' ? s.description : `ONNX SSD ${baseName(onnxPath)}`,
    weights: { format: 'onnx', path: onnxPath },
    input: { width: W, height: H, resize: resize as 'stretch' | 'letterbox', normalize: { scale: norm.scale as number, offset: norm.offset as number } },
    network: { imported: 'onnx', numClasses: C },
    anchors: { type: 'explicit', values: flat },
    boxCoder: coder as unknown as BoxCoderSpec,
    scores: { activation: scores.activation as ScoreSpec['activation'], backgroundClass: bg as number | null },
    labels: labels as (string | null)[],
    postprocess: post as unknown as PostprocessDefaults,
    ...(typeof s.license === 'string' ? { license: s.license } : {}),
  };
  const file: OnnxModelFile = {
    kind: 'onnx-file', path: onnxPath, inputName: inputName as string, layout: layout as OnnxInputLayout,
    inputHeight: H, inputWidth: W, numAnchors: A, numClasses: C, outputNames,
  };
  return { descriptor, file };
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function baseName(p: string): string {
  return p.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '');
}
