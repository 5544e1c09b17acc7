import { Builder } from 'flatbuffers';
import { encode } from 'flatbuffers/js/flexbuffers.js';

/*
 * Writes small .tflite flatbuffers for tests, with flatbuffers' Builder and the field indices
 * of tensorflow/lite/schema/schema.fbs (see src/model/tflite/schema.ts). Only what the tests
 * need: tensors with quantization, operators with Conv2D / DepthwiseConv2D / Concatenation /
 * Reshape options or flexbuffer custom options, and metadata entries.
 */

/** TensorType codes. */
export const T = { FLOAT32: 0, INT32: 2, UINT8: 3, INT8: 9 } as const;
/** BuiltinOperator codes. */
export const OP = { ADD: 0, CONCATENATION: 2, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, LOGISTIC: 14, MAX_POOL_2D: 17, RESHAPE: 22, CUSTOM: 32, HARD_SWISH: 117 } as const;
/** BuiltinOptions union type codes. */
const OPTIONS_TYPE = { Conv2DOptions: 1, DepthwiseConv2DOptions: 2, ConcatenationOptions: 10, ReshapeOptions: 17 } as const;
/** ActivationFunctionType codes. */
export const ACT = { NONE: 0, RELU: 1, RELU6: 3, TANH: 4 } as const;

/** A tensor to write. */
export interface TensorDef {
  name: string;
  shape: number[];
  type: number;
  /** Constant data (little-endian bytes). */
  data?: Uint8Array;
  scale?: number[];
  zeroPoint?: number[];
  quantizedDimension?: number;
}

/** Options of a builtin operator, written as its options table. */
export type OptionsDef =
  | { type: 'conv'; padding: 'SAME' | 'VALID'; stride: number; activation?: number; strideW?: number; dilation?: number }
  | { type: 'depthwise'; padding: 'SAME' | 'VALID'; stride: number; multiplier: number; activation?: number }
  | { type: 'concatenation'; axis: number; activation?: number }
  | { type: 'reshape'; newShape: number[] };

/** An operator to write; `op` is a builtin code or a custom operator's name. */
export interface OperatorDef {
  op: number | string;
  inputs: number[];
  outputs: number[];
  options?: OptionsDef;
  /** Custom options, encoded as a flexbuffer map. */
  custom?: Record<string, unknown>;
}

/** A model to write. */
export interface ModelDef {
  tensors: TensorDef[];
  operators: OperatorDef[];
  inputs: number[];
  outputs: number[];
  metadata?: { name: string; data: Uint8Array }[];
  /** Write operator codes the pre-2.4 way: deprecated_builtin_code only. */
  legacyOpcodes?: boolean;
}

/** Serializes a model definition to .tflite bytes (file identifier TFL3). */
export function buildTflite(def: ModelDef): Uint8Array {
  const b = new Builder(1024);
  // Buffers: 0 is the empty sentinel; each constant tensor and metadata entry gets its own.
  const bufferData: (Uint8Array | null)[] = [null];
  const tensorBuffer = def.tensors.map((t) => (t.data ? bufferData.push(t.data) - 1 : 0));
  const metaBuffer = (def.metadata ?? []).map((m) => bufferData.push(m.data) - 1);
  const buffers = bufferData.map((d) => {
    const data = d ? b.createByteVector(d) : 0;
    b.startObject(1);
    if (d) b.addFieldOffset(0, data, 0);
    return b.endObject();
  });

  const codes: (number | string)[] = [];
  for (const o of def.operators) if (!codes.includes(o.op)) codes.push(o.op);
  const codeOffsets = codes.map((c) => {
    const custom = typeof c === 'string' ? b.createString(c) : 0;
    const code = typeof c === 'string' ? OP.CUSTOM : c;
    b.startObject(4);
    b.addFieldInt8(0, Math.min(code, 127), 0);
    if (custom) b.addFieldOffset(1, custom, 0);
    b.addFieldInt32(2, 1, 1);
    if (!def.legacyOpcodes) b.addFieldInt32(3, code, 0);
    return b.endObject();
  });

  const tensors = def.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = intVector(b, t.shape);
    let quant = 0;
    if (t.scale) {
      const scale = floatVector(b, t.scale);
      const zp = longVector(b, t.zeroPoint ?? t.scale.map(() => 0));
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      b.addFieldOffset(3, zp, 0);
      b.addFieldInt32(6, t.quantizedDimension ?? 0, 0);
      quant = b.endObject();
    }
    b.startObject(5);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, 0);
    b.addFieldInt32(2, tensorBuffer[i], 0);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });

  const operators = def.operators.map((o) => {
    const inputs = intVector(b, o.inputs);
    const outputs = intVector(b, o.outputs);
    const custom = o.custom ? b.createByteVector(encode(o.custom)) : 0;
    const [optType, opts] = o.options ? writeOptions(b, o.options) : [0, 0];
    b.startObject(7);
    b.addFieldInt32(0, codes.indexOf(o.op), 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    if (opts) {
      b.addFieldInt8(3, optType, 0);
      b.addFieldOffset(4, opts, 0);
    }
    if (custom) b.addFieldOffset(5, custom, 0);
    return b.endObject();
  });

  const tensorVec = offsetVector(b, tensors);
  const opVec = offsetVector(b, operators);
  const inVec = intVector(b, def.inputs);
  const outVec = intVector(b, def.outputs);
  b.startObject(5);
  b.addFieldOffset(0, tensorVec, 0);
  b.addFieldOffset(1, inVec, 0);
  b.addFieldOffset(2, outVec, 0);
  b.addFieldOffset(3, opVec, 0);
  const subgraph = b.endObject();

  const metas = (def.metadata ?? []).map((m, i) => {
    const name = b.createString(m.name);
    b.startObject(2);
    b.addFieldOffset(0, name, 0);
    b.addFieldInt32(1, metaBuffer[i], 0);
    return b.endObject();
  });
  const codeVec = offsetVector(b, codeOffsets);
  const sgVec = offsetVector(b, [subgraph]);
  const bufVec = offsetVector(b, buffers);
  const metaVec = metas.length ? offsetVector(b, metas) : 0;
  const description = b.createString('ssdpipe test model');
  b.startObject(7);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, codeVec, 0);
  b.addFieldOffset(2, sgVec, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, bufVec, 0);
  if (metaVec) b.addFieldOffset(6, metaVec, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}

function writeOptions(b: Builder, o: OptionsDef): [number, number] {
  const pad = (p: 'SAME' | 'VALID'): number => (p === 'SAME' ? 0 : 1);
  switch (o.type) {
    case 'conv':
      b.startObject(6);
      b.addFieldInt8(0, pad(o.padding), 0);
      b.addFieldInt32(1, o.strideW ?? o.stride, 0);
      b.addFieldInt32(2, o.stride, 0);
      b.addFieldInt8(3, o.activation ?? ACT.NONE, 0);
      b.addFieldInt32(4, o.dilation ?? 1, 1);
      b.addFieldInt32(5, o.dilation ?? 1, 1);
      return [OPTIONS_TYPE.Conv2DOptions, b.endObject()];
    case 'depthwise':
      b.startObject(7);
      b.addFieldInt8(0, pad(o.padding), 0);
      b.addFieldInt32(1, o.stride, 0);
      b.addFieldInt32(2, o.stride, 0);
      b.addFieldInt32(3, o.multiplier, 0);
      b.addFieldInt8(4, o.activation ?? ACT.NONE, 0);
      return [OPTIONS_TYPE.DepthwiseConv2DOptions, b.endObject()];
    case 'concatenation':
      b.startObject(2);
      b.addFieldInt32(0, o.axis, 0);
      b.addFieldInt8(1, o.activation ?? ACT.NONE, 0);
      return [OPTIONS_TYPE.ConcatenationOptions, b.endObject()];
    case 'reshape': {
      const shape = intVector(b, o.newShape);
      b.startObject(1);
      b.addFieldOffset(0, shape, 0);
      return [OPTIONS_TYPE.ReshapeOptions, b.endObject()];
    }
  }
}

function intVector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function floatVector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

function longVector(b: Builder, values: number[]): number {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

/** Little-endian bytes of typed values. */
export function bytesOf(values: number[], type: number): Uint8Array {
  if (type === T.UINT8) return Uint8Array.from(values);
  if (type === T.INT8) return new Uint8Array(Int8Array.from(values).buffer);
  if (type === T.INT32) return new Uint8Array(Int32Array.from(values).buffer);
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** Deterministic pseudo-random integers in [lo, hi] (a linear congruential generator). */
export function ints(n: number, lo: number, hi: number, seed = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** The post-process op's options as the TF OD API writes them. */
export const POSTPROCESS_OPTIONS = {
  max_detections: 10, max_classes_per_detection: 1, nms_score_threshold: 1e-8, nms_iou_threshold: 0.6,
  num_classes: 2, y_scale: 10, x_scale: 10, h_scale: 5, w_scale: 5,
};

/**
 * A tiny quantized SSD in the TF OD API export's shape, 6x6x3 uint8 input:
 *   conv 3x3 s2 SAME RELU6 (uint8 weights) -> [1,3,3,4] "feat0"
 *   depthwise 3x3 VALID, multiplier 2, RELU -> [1,1,1,8] "feat1"
 *   head 0 on feat0: box conv (int8 per-channel weights) [1,3,3,4] and class conv [1,3,3,3]
 *   head 1 on feat1: box conv [1,1,1,8] and class conv [1,1,1,6] (2 anchors per cell)
 *   RESHAPE each, CONCATENATION (axis 1), RESHAPE the boxes, LOGISTIC on the scores,
 *   TFLite_Detection_PostProcess with an [11, 4] uint8 anchor constant.
 */
export function tinySsdDef(): ModelDef {
  const tensors: TensorDef[] = [];
  const add = (t: TensorDef): number => tensors.push(t) - 1;
  const u8 = (name: string, shape: number[], scale: number, zp: number, data?: number[]): number =>
    add({ name, shape, type: T.UINT8, scale: [scale], zeroPoint: [zp], data: data ? bytesOf(data, T.UINT8) : undefined });
  const bias = (name: string, n: number, scale: number, seed: number): number =>
    add({ name, shape: [n], type: T.INT32, scale: [scale], zeroPoint: [0], data: bytesOf(ints(n, -2000, 2000, seed), T.INT32) });

  const input = u8('image', [1, 6, 6, 3], 1 / 128, 128);
  const w0 = u8('conv0/weights', [4, 3, 3, 3], 0.02, 128, ints(108, 0, 255, 2));
  const b0 = bias('conv0/bias', 4, (1 / 128) * 0.02, 3);
  const feat0 = u8('feat0', [1, 3, 3, 4], 6 / 255, 0);
  const w1 = u8('dw1/weights', [1, 3, 3, 8], 0.03, 120, ints(72, 0, 255, 4));
  const b1 = bias('dw1/bias', 8, (6 / 255) * 0.03, 5);
  const feat1 = u8('feat1', [1, 1, 1, 8], 0.05, 0);
  // head 0, box: int8 weights quantized per output channel (dimension 0)
  const hw0 = add({ name: 'head0/box/weights', shape: [4, 1, 1, 4], type: T.INT8, scale: [0.01, 0.02, 0.03, 0.04], zeroPoint: [0, 0, 0, 0], quantizedDimension: 0, data: bytesOf(ints(16, -127, 127, 6), T.INT8) });
  const hb0 = add({ name: 'head0/box/bias', shape: [4], type: T.INT32, scale: [0.01, 0.02, 0.03, 0.04].map((s) => s * (6 / 255)), zeroPoint: [0, 0, 0, 0], data: bytesOf(ints(4, -500, 500, 7), T.INT32) });
  const box0 = u8('head0/box', [1, 3, 3, 4], 0.05, 128);
  const cw0 = u8('head0/class/weights', [3, 1, 1, 4], 0.02, 128, ints(12, 0, 255, 8));
  const cb0 = bias('head0/class/bias', 3, (6 / 255) * 0.02, 9);
  const cls0 = u8('head0/class', [1, 3, 3, 3], 0.05, 200);
  const hw1 = u8('head1/box/weights', [8, 1, 1, 8], 0.02, 128, ints(64, 0, 255, 10));
  const hb1 = bias('head1/box/bias', 8, 0.05 * 0.02, 11);
  const box1 = u8('head1/box', [1, 1, 1, 8], 0.05, 128);
  const cw1 = u8('head1/class/weights', [6, 1, 1, 8], 0.02, 128, ints(48, 0, 255, 12));
  const cb1 = bias('head1/class/bias', 6, 0.05 * 0.02, 13);
  const cls1 = u8('head1/class', [1, 1, 1, 6], 0.05, 200);
  const rb0 = u8('head0/box/reshape', [1, 9, 1, 4], 0.05, 128);
  const rc0 = u8('head0/class/reshape', [1, 9, 3], 0.05, 200);
  const rb1 = u8('head1/box/reshape', [1, 2, 1, 4], 0.05, 128);
  const rc1 = u8('head1/class/reshape', [1, 2, 3], 0.05, 200);
  const boxes4 = u8('concat', [1, 11, 1, 4], 0.05, 128);
  const boxes = u8('squeeze', [1, 11, 4], 0.05, 128);
  const logits = u8('concat_1', [1, 11, 3], 0.05, 200);
  const scores = u8('scores', [1, 11, 3], 1 / 256, 0);
  const anchorValues = ints(44, 10, 150, 14);
  const anchors = u8('anchors', [11, 4], 0.006, 0, anchorValues);
  const outs = [0, 1, 2, 3].map((i) => add({ name: `TFLite_Detection_PostProcess${i ? `:${i}` : ''}`, shape: [], type: T.FLOAT32 }));

  const conv = (inp: number, w: number, b: number, out: number, activation = ACT.NONE): OperatorDef =>
    ({ op: OP.CONV_2D, inputs: [inp, w, b], outputs: [out], options: { type: 'conv', padding: 'SAME', stride: 1, activation } });
  const reshape = (inp: number, out: number, newShape: number[]): OperatorDef =>
    ({ op: OP.RESHAPE, inputs: [inp], outputs: [out], options: { type: 'reshape', newShape } });
  return {
    tensors,
    inputs: [input],
    outputs: outs,
    operators: [
      { op: OP.CONV_2D, inputs: [input, w0, b0], outputs: [feat0], options: { type: 'conv', padding: 'SAME', stride: 2, activation: ACT.RELU6 } },
      { op: OP.DEPTHWISE_CONV_2D, inputs: [feat0, w1, b1], outputs: [feat1], options: { type: 'depthwise', padding: 'VALID', stride: 1, multiplier: 2, activation: ACT.RELU } },
      conv(feat0, hw0, hb0, box0),
      reshape(box0, rb0, [1, 9, 1, 4]),
      conv(feat0, cw0, cb0, cls0),
      reshape(cls0, rc0, [1, 9, 3]),
      conv(feat1, hw1, hb1, box1),
      reshape(box1, rb1, [1, 2, 1, 4]),
      conv(feat1, cw1, cb1, cls1),
      reshape(cls1, rc1, [1, 2, 3]),
      { op: OP.CONCATENATION, inputs: [rb0, rb1], outputs: [boxes4], options: { type: 'concatenation', axis: 1 } },
      reshape(boxes4, boxes, [1, 11, 4]),
      { op: OP.CONCATENATION, inputs: [rc0, rc1], outputs: [logits], options: { type: 'concatenation', axis: 1 } },
      { op: OP.LOGISTIC, inputs: [logits], outputs: [scores] },
      { op: 'TFLite_Detection_PostProcess', inputs: [boxes, scores, anchors], outputs: outs, custom: POSTPROCESS_OPTIONS },
    ],
  };
}

/** A zip archive of stored (uncompressed) files, as the TFLite metadata tools append them. */
export function storedZip(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = new TextEncoder().encode(f.name);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint32(18, f.data.length, true);
    local.setUint32(22, f.data.length, true);
    local.setUint16(26, name.length, true);
    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint32(20, f.data.length, true);
    cd.setUint32(24, f.data.length, true);
    cd.setUint16(28, name.length, true);
    cd.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), name, f.data);
    central.push(new Uint8Array(cd.buffer), name);
    offset += 30 + name.length + f.data.length;
  }
  const cdSize = central.reduce((n, p) => n + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  return concat([...parts, ...central, new Uint8Array(end.buffer)]);
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A ModelMetadata flatbuffer (file identifier M001) whose output tensor 1 names `labelFile`
 * as TENSOR_VALUE_LABELS, like the TFLite object detector metadata.
 */
export function metadataWithLabels(labelFile: string): Uint8Array {
  const b = new Builder(256);
  const name = b.createString(labelFile);
  b.startObject(4);
  b.addFieldOffset(0, name, 0);
  b.addFieldInt8(2, 3, 0); // TENSOR_VALUE_LABELS
  const file = b.endObject();
  const files = offsetVector(b, [file]);
  b.startObject(7);
  b.addFieldOffset(6, files, 0);
  const withLabels = b.endObject();
  b.startObject(7);
  const plain = b.endObject();
  const outputs = offsetVector(b, [plain, withLabels]);
  b.startObject(5);
  b.addFieldOffset(3, outputs, 0);
  const sg = b.endObject();
  const sgs = offsetVector(b, [sg]);
  b.startObject(8);
  b.addFieldOffset(3, sgs, 0);
  b.finish(b.endObject(), 'M001');
  return b.asUint8Array().slice();
}
