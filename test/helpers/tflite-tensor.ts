/*
 * A minimal read-only TFLite flatbuffer reader for tests: lists the tensors of subgraph 0 with
 * their shape, type, quantization and constant data. Only the schema fields used here are read:
 *   Model { subgraphs: 2, buffers: 4 }   SubGraph { tensors: 0 }   Buffer { data: 0 }
 *   Tensor { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4 }
 *   QuantizationParameters { scale: 2, zero_point: 3 }
 */

/** TFLite TensorType values used by the tests. */
export const TFLITE_TYPE = { FLOAT32: 0, INT32: 2, UINT8: 3 } as const;

/** One tensor of a .tflite model. */
export interface TfliteTensor {
  name: string;
  shape: number[];
  /** TFLite TensorType enum value (3 = UINT8). */
  type: number;
  scale: number[];
  zeroPoint: number[];
  /** The constant data (a view into the file), or null for activations. */
  data: Uint8Array | null;
}

/** Reads the tensors of subgraph 0 of a .tflite flatbuffer. */
export function readTfliteTensors(file: Uint8Array): TfliteTensor[] {
  const fb = new FlatReader(file);
  if (fb.str4(4) !== 'TFL3') throw new Error(`not a TFLite model (file identifier ${JSON.stringify(fb.str4(4))})`);
  const model = fb.root();
  const buffers = fb.tables(model, 4);
  const subgraph = fb.tables(model, 2)[0];
  return fb.tables(subgraph, 0).map((t) => {
    const quant = fb.table(t, 4);
    const bufIndex = fb.scalar(t, 2, 'u32', 0);
    const buf = buffers[bufIndex];
    const bytes = buf !== undefined ? fb.vector(buf, 0) : null;
    return {
      name: fb.string(t, 3),
      shape: fb.vectorOf(t, 0, 4, (p) => fb.view.getInt32(p, true)),
      type: fb.scalar(t, 1, 'u8', 0),
      scale: quant === null ? [] : fb.vectorOf(quant, 2, 4, (p) => fb.view.getFloat32(p, true)),
      zeroPoint: quant === null ? [] : fb.vectorOf(quant, 3, 8, (p) => Number(fb.view.getBigInt64(p, true))),
      data: bytes && bytes.length > 0 ? bytes : null,
    };
  });
}

class FlatReader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  str4(at: number): string {
    return String.fromCharCode(...this.bytes.subarray(at, at + 4));
  }
  root(): number {
    return this.view.getUint32(0, true);
  }
  /** Absolute position of field `id` of the table at `table`, or 0 when absent. */
  field(table: number, id: number): number {
    const vtable = table - this.view.getInt32(table, true);
    const vsize = this.view.getUint16(vtable, true);
    const slot = 4 + 2 * id;
    if (slot >= vsize) return 0;
    const off = this.view.getUint16(vtable + slot, true);
    return off === 0 ? 0 : table + off;
  }
  deref(pos: number): number {
    return pos + this.view.getUint32(pos, true);
  }
  scalar(table: number, id: number, kind: 'u8' | 'u32', dflt: number): number {
    const p = this.field(table, id);
    if (!p) return dflt;
    return kind === 'u8' ? this.view.getUint8(p) : this.view.getUint32(p, true);
  }
  table(table: number, id: number): number | null {
    const p = this.field(table, id);
    return p ? this.deref(p) : null;
  }
  tables(table: number, id: number): number[] {
    return this.vectorOf(table, id, 4, (p) => this.deref(p));
  }
  vectorOf<T>(table: number, id: number, elemSize: number, read: (pos: number) => T): T[] {
    const p = this.field(table, id);
    if (!p) return [];
    const v = this.deref(p);
    const n = this.view.getUint32(v, true);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(v + 4 + i * elemSize));
    return out;
  }
  vector(table: number, id: number): Uint8Array | null {
    const p = this.field(table, id);
    if (!p) return null;
    const v = this.deref(p);
    const n = this.view.getUint32(v, true);
    return this.bytes.subarray(v + 4, v + 4 + n);
  }
  string(table: number, id: number): string {
    const bytes = this.vector(table, id);
    return bytes ? new TextDecoder().decode(bytes) : '';
  }
}
