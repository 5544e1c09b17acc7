import { ByteBuffer } from 'flatbuffers';
import { toObject } from 'flatbuffers/js/flexbuffers.js';
import { ModelError } from '../../errors.js';
import {
  ACTIVATIONS,
  builtinOperatorName,
  FIELD,
  PADDINGS,
  CUSTOM,
  TENSOR_TYPES,
  type TensorTypeName,
} from './schema.js';

/*
 * A read-only view of a .tflite flatbuffer: subgraph 0's tensors and operators, with the
 * builtin options the SSD importer needs decoded and custom options read as a flexbuffer.
 * Reads fields by vtable slot through flatbuffers' ByteBuffer (no generated code). Constant
 * data stays a view into the file's bytes: nothing is copied here.
 */

/** Affine quantization of a tensor: real = scale * (q - zeroPoint), per tensor or per channel. */
export interface TfliteQuantization {
  /** One entry per tensor, or one per index of `quantizedDimension`. */
  readonly scale: readonly number[];
  readonly zeroPoint: readonly number[];
  readonly quantizedDimension: number;
}

/** One tensor of the subgraph. */
export interface TfliteTensor {
  readonly index: number;
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: TensorTypeName;
  /** Constant data (little-endian, row-major), or null for activations. */
  readonly data: Uint8Array | null;
  /** Null when the tensor is not quantized (no scale). */
  readonly quantization: TfliteQuantization | null;
}

/** Fused activation of an operator. */
export type TfliteActivation = (typeof ACTIVATIONS)[number] | `ACTIVATION_${number}`;

/** CONV_2D and DEPTHWISE_CONV_2D options (depthMultiplier is 1 for CONV_2D). */
export interface TfliteConvOptions {
  readonly padding: 'SAME' | 'VALID';
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly depthMultiplier: number;
  readonly activation: TfliteActivation;
}

/** Decoded options of the operators the importer lowers. */
export type TfliteOptions =
  | { readonly kind: 'conv'; readonly conv: TfliteConvOptions }
  | { readonly kind: 'concatenation'; readonly axis: number; readonly activation: TfliteActivation }
  | { readonly kind: 'add'; readonly activation: TfliteActivation }
  | { readonly kind: 'reshape'; readonly newShape: readonly number[] | null }
  /** A custom operator's flexbuffer options as a plain object (null when it has none). */
  | { readonly kind: 'custom'; readonly values: Record<string, unknown> | null }
  | { readonly kind: 'none' };

/** One operator, in execution order. */
export interface TfliteOperator {
  readonly index: number;
  /** Builtin name (CONV_2D, ...) or, for a custom operator, its custom code. */
  readonly op: string;
  readonly custom: boolean;
  /** Tensor indices; -1 marks an omitted optional input. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly options: TfliteOptions;
}

/** Subgraph 0 of a .tflite model, plus its metadata entries. */
export interface TfliteModel {
  readonly version: number;
  readonly description: string;
  readonly tensors: readonly TfliteTensor[];
  readonly operators: readonly TfliteOperator[];
  /** Tensor indices of the subgraph's inputs and outputs. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** Model.metadata entries by name (e.g. TFLITE_METADATA), each a view of its buffer. */
  readonly metadata: ReadonlyMap<string, Uint8Array>;
}

/** Options of readTflite. */
export interface ReadTfliteOptions {
  /** Where the bytes came from, for error messages (e.g. the file path). */
  source?: string;
}

/** Parses a .tflite flatbuffer (subgraph 0). Throws a ModelError when it is not one. */
export function readTflite(bytes: Uint8Array, options: ReadTfliteOptions = {}): TfliteModel {
  const source = options.source ?? 'the .tflite model';
  const bad = (what: string, cause?: unknown): never => {
    throw new ModelError('E_MODEL', `${source}: ${what}`, { cause, hint: 'pass a TFLite flatbuffer model (.tflite)' });
  };
  if (bytes.length < 8) bad(`expected a TFLite flatbuffer, received ${bytes.length} bytes`);
  const bb = new ByteBuffer(bytes);
  if (bb.getBufferIdentifier() !== 'TFL3') bad(`expected the file identifier "TFL3", received ${JSON.stringify(bb.getBufferIdentifier())}`);
  try {
    return readModel(bb, bytes);
  } catch (cause) {
    if (cause instanceof ModelError) throw cause;
    return bad(`the flatbuffer is damaged or truncated (${(cause as Error).message})`, cause);
  }
}

function readModel(bb: ByteBuffer, bytes: Uint8Array): TfliteModel {
  const model = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const F = FIELD.Model;
  const buffers = model.tables(F.buffers).map((b) => bufferData(b, bytes));
  const codes = model.tables(F.operatorCodes).map(operatorCode);
  const subgraphs = model.tables(F.subgraphs);
  if (subgraphs.length === 0) throw new ModelError('E_MODEL', 'the model has no subgraph', { hint: 'the .tflite file is empty or damaged' });
  const sg = subgraphs[0];
  const S = FIELD.SubGraph;
  const tensors = sg.tables(S.tensors).map((t, index) => readTensor(t, index, buffers));
  const operators = sg.tables(S.operators).map((o, index) => readOperator(o, index, codes));
  const metadata = new Map<string, Uint8Array>();
  for (const m of model.tables(F.metadata)) {
    const data = buffers[m.u32(FIELD.Metadata.buffer, 0)];
    if (data) metadata.set(m.string(FIELD.Metadata.name) ?? '', data);
  }
  return {
    version: model.u32(F.version, 0),
    description: model.string(F.description) ?? '',
    tensors,
    operators,
    inputs: sg.i32s(S.inputs),
    outputs: sg.i32s(S.outputs),
    metadata,
  };
}

/** A buffer's bytes: inline data, or (large models) an offset/size range of the file. */
function bufferData(b: Table, bytes: Uint8Array): Uint8Array | null {
  const B = FIELD.Buffer;
  const inline = b.bytes(B.data);
  if (inline && inline.length > 0) return inline;
  const offset = Number(b.u64(B.offset));
  const size = Number(b.u64(B.size));
  // offset 1 is the converter's placeholder for "not set".
  if (offset > 1 && size > 0) return bytes.subarray(offset, offset + size);
  return null;
}

function operatorCode(c: Table): { op: string; custom: boolean } {
  const F = FIELD.OperatorCode;
  const deprecated = c.i8(F.deprecatedBuiltinCode, 0);
  const extended = c.i32(F.builtinCode, 0);
  // Files before the extended field have only the byte; newer ones write both, and codes past
  // 127 only in builtin_code. The larger of the two is the code (TFLite's GetBuiltinCode).
  const code = Math.max(deprecated, extended);
  if (code === CUSTOM) return { op: c.string(F.customCode) ?? 'CUSTOM', custom: true };
  return { op: builtinOperatorName(code), custom: false };
}

function readTensor(t: Table, index: number, buffers: (Uint8Array | null)[]): TfliteTensor {
  const F = FIELD.Tensor;
  const typeCode = t.i8(F.type, 0);
  const q = t.table(F.quantization);
  let quantization: TfliteQuantization | null = null;
  if (q) {
    const Q = FIELD.QuantizationParameters;
    const scale = q.f32s(Q.scale);
    if (scale.length > 0) {
      quantization = { scale, zeroPoint: q.i64s(Q.zeroPoint), quantizedDimension: q.i32(Q.quantizedDimension, 0) };
    }
  }
  return {
    index,
    name: t.string(F.name) ?? `tensor_${index}`,
    shape: t.i32s(F.shape),
    type: TENSOR_TYPES[typeCode] ?? `TYPE_${typeCode}`,
    data: buffers[t.u32(F.buffer, 0)] ?? null,
    quantization,
  };
}

function readOperator(o: Table, index: number, codes: { op: string; custom: boolean }[]): TfliteOperator {
  const F = FIELD.Operator;
  const opcodeIndex = o.u32(F.opcodeIndex, 0);
  const code = codes[opcodeIndex];
  if (!code) throw new ModelError('E_MODEL', `operator ${index} refers to operator code ${opcodeIndex}, the model has ${codes.length}`, { hint: 'the .tflite file is damaged' });
  const opts = o.table(F.builtinOptions);
  let options: TfliteOptions = { kind: 'none' };
  const activation = (v: number): TfliteActivation => ACTIVATIONS[v] ?? `ACTIVATION_${v}`;
  const padding = (v: number): 'SAME' | 'VALID' => {
    const p = PADDINGS[v];
    if (!p) throw new ModelError('E_MODEL', `operator ${index} (${code.op}): unknown padding ${v}`, { hint: 'the .tflite file is damaged or newer than ssdpipe' });
    return p;
  };
  if (code.custom) {
    const raw = o.bytes(F.customOptions);
    options = { kind: 'custom', values: raw && raw.length > 0 ? readFlexbufferMap(raw, code.op) : null };
  } else if (code.op === 'CONV_2D' && opts) {
    const C = FIELD.Conv2DOptions;
    options = { kind: 'conv', conv: {
      padding: padding(opts.i8(C.padding, 0)),
      strideW: opts.i32(C.strideW, 0), strideH: opts.i32(C.strideH, 0),
      dilationW: opts.i32(C.dilationW, 1), dilationH: opts.i32(C.dilationH, 1),
      depthMultiplier: 1,
      activation: activation(opts.i8(C.fusedActivation, 0)),
    } };
  } else if (code.op === 'DEPTHWISE_CONV_2D' && opts) {
    const D = FIELD.DepthwiseConv2DOptions;
    options = { kind: 'conv', conv: {
      padding: padding(opts.i8(D.padding, 0)),
      strideW: opts.i32(D.strideW, 0), strideH: opts.i32(D.strideH, 0),
      dilationW: opts.i32(D.dilationW, 1), dilationH: opts.i32(D.dilationH, 1),
      depthMultiplier: opts.i32(D.depthMultiplier, 0),
      activation: activation(opts.i8(D.fusedActivation, 0)),
    } };
  } else if (code.op === 'CONCATENATION' && opts) {
    const C = FIELD.ConcatenationOptions;
    options = { kind: 'concatenation', axis: opts.i32(C.axis, 0), activation: activation(opts.i8(C.fusedActivation, 0)) };
  } else if (code.op === 'ADD') {
    options = { kind: 'add', activation: activation(opts ? opts.i8(FIELD.AddOptions.fusedActivation, 0) : 0) };
  } else if (code.op === 'RESHAPE') {
    const shape = opts?.i32s(FIELD.ReshapeOptions.newShape);
    options = { kind: 'reshape', newShape: shape && shape.length > 0 ? shape : null };
  }
  return { index, op: code.op, custom: code.custom, inputs: o.i32s(F.inputs), outputs: o.i32s(F.outputs), options };
}

function readFlexbufferMap(raw: Uint8Array, op: string): Record<string, unknown> {
  let value: unknown;
  try {
    // toObject reads a whole ArrayBuffer: copy the options out of the file (a Buffer's slice()
    // would share the file's memory, so copy through Uint8Array.from).
    value = toObject(Uint8Array.from(raw).buffer);
  } catch (cause) {
    throw new ModelError('E_MODEL', `custom operator ${op}: its options are not a readable flexbuffer`, { cause, hint: 'the .tflite file is damaged' });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelError('E_MODEL', `custom operator ${op}: expected its options to be a flexbuffer map, received ${JSON.stringify(value)}`, { hint: 'the .tflite file is damaged' });
  }
  // Integers wider than 32 bits come back as bigint; options are small numbers.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
}

/**
 * A flatbuffer table at an absolute position, read by field index (vtable slot 4 + 2i).
 * ByteBuffer reads past the end as zeros, so positions are checked: a truncated file throws.
 */
class Table {
  constructor(private readonly bb: ByteBuffer, private readonly pos: number) {
    check(bb, pos, 4);
  }

  /** Absolute position of field i's value, or 0 when the field is absent. */
  private at(field: number): number {
    const off = this.bb.__offset(this.pos, 4 + 2 * field);
    return off === 0 ? 0 : this.pos + off;
  }
  i8(field: number, dflt: number): number {
    const p = this.at(field);
    return p ? this.bb.readInt8(p) : dflt;
  }
  i32(field: number, dflt: number): number {
    const p = this.at(field);
    return p ? this.bb.readInt32(p) : dflt;
  }
  u32(field: number, dflt: number): number {
    const p = this.at(field);
    return p ? this.bb.readUint32(p) : dflt;
  }
  u64(field: number): bigint {
    const p = this.at(field);
    return p ? this.bb.readUint64(p) : 0n;
  }
  string(field: number): string | null {
    const p = this.at(field);
    return p ? (this.bb.__string(p) as string) : null;
  }
  table(field: number): Table | null {
    const p = this.at(field);
    return p ? new Table(this.bb, this.bb.__indirect(p)) : null;
  }
  tables(field: number): Table[] {
    const p = this.at(field);
    if (!p) return [];
    const start = this.bb.__vector(p);
    const n = this.bb.__vector_len(p);
    check(this.bb, start, n * 4);
    const out: Table[] = [];
    for (let i = 0; i < n; i++) out.push(new Table(this.bb, this.bb.__indirect(start + i * 4)));
    return out;
  }
  /** A [ubyte] vector as a view of the underlying bytes (no copy). */
  bytes(field: number): Uint8Array | null {
    const p = this.at(field);
    if (!p) return null;
    const start = this.bb.__vector(p);
    const n = this.bb.__vector_len(p);
    check(this.bb, start, n);
    return this.bb.bytes().subarray(start, start + n);
  }
  i32s(field: number): number[] {
    return this.scalars(field, 4, (q) => this.bb.readInt32(q));
  }
  f32s(field: number): number[] {
    return this.scalars(field, 4, (q) => this.bb.readFloat32(q));
  }
  i64s(field: number): number[] {
    return this.scalars(field, 8, (q) => Number(this.bb.readInt64(q)));
  }
  private scalars(field: number, size: number, read: (pos: number) => number): number[] {
    const p = this.at(field);
    if (!p) return [];
    const start = this.bb.__vector(p);
    const n = this.bb.__vector_len(p);
    check(this.bb, start, n * size);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = read(start + i * size);
    return out;
  }
}

/** Throws when [pos, pos + size) is not inside the buffer. */
function check(bb: ByteBuffer, pos: number, size: number): void {
  if (!(pos >= 0 && pos + size <= bb.capacity())) throw new RangeError(`offset ${pos} + ${size} is outside the ${bb.capacity()} bytes`);
}
