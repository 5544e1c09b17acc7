import { inflateRawSync } from 'node:zlib';
import { ByteBuffer } from 'flatbuffers';
import type { TfliteModel } from './read-tflite.js';
import { TFLITE_METADATA } from './schema.js';

/*
 * TFLite model metadata (tflite-support metadata_schema.fbs, file identifier "M001"), stored in
 * the model's metadata entry TFLITE_METADATA. Associated files (label maps) are not in the
 * flatbuffer: the metadata tools append them to the .tflite as a zip archive, and the metadata
 * names them. Field indices read here:
 *   ModelMetadata { subgraph_metadata: 3, associated_files: 6 }
 *   SubGraphMetadata { output_tensor_metadata: 3, associated_files: 4 }
 *   TensorMetadata { associated_files: 6 }
 *   AssociatedFile { name: 0, type: 2 }
 */

/** AssociatedFileType values that hold labels. */
const TENSOR_AXIS_LABELS = 2;
const TENSOR_VALUE_LABELS = 3;

/** The label file named by the model's metadata and packed in the file, as text; null when there is none. */
export function metadataLabels(model: TfliteModel, file: Uint8Array): string | null {
  const meta = model.metadata.get(TFLITE_METADATA);
  if (!meta) return null;
  const names = labelFileNames(meta);
  if (names.length === 0) return null;
  const entries = readZipEntries(file);
  for (const name of names) {
    const data = entries.get(name);
    if (data) return new TextDecoder().decode(data);
  }
  return null;
}

/** Names of the label files in a ModelMetadata flatbuffer: value labels (detections) first, then axis labels. */
export function labelFileNames(meta: Uint8Array): string[] {
  const bb = new ByteBuffer(meta);
  if (meta.length < 8 || bb.getBufferIdentifier() !== 'M001') return [];
  const root = bb.readInt32(0);
  const field = (table: number, i: number): number => {
    const off = bb.__offset(table, 4 + 2 * i);
    return off ? table + off : 0;
  };
  const tables = (table: number, i: number): number[] => {
    const p = field(table, i);
    if (!p) return [];
    const start = bb.__vector(p);
    return Array.from({ length: bb.__vector_len(p) }, (_, k) => bb.__indirect(start + 4 * k));
  };
  const files: { name: string; type: number }[] = [];
  const collect = (owner: number, i: number): void => {
    for (const f of tables(owner, i)) {
      const n = field(f, 0);
      const t = field(f, 2);
      if (n) files.push({ name: bb.__string(n) as string, type: t ? bb.readInt8(t) : 0 });
    }
  };
  for (const sg of tables(root, 3)) {
    for (const tensor of tables(sg, 3)) collect(tensor, 6);
    collect(sg, 4);
  }
  collect(root, 6);
  return [
    ...files.filter((f) => f.type === TENSOR_VALUE_LABELS),
    ...files.filter((f) => f.type === TENSOR_AXIS_LABELS),
  ].map((f) => f.name);
}

/**
 * The files of a zip archive at the end of `bytes` (stored or deflated), by name; empty when
 * there is none. Offsets are taken relative to where the archive starts, so a zip appended to
 * another file (the .tflite) reads the same as a standalone one.
 */
export function readZipEntries(bytes: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: 22 bytes plus a comment of up to 65535.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (view.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) return out;
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  // Where the archive's offset 0 is in `bytes` (the central directory ends at the EOCD).
  const base = eocd - cdSize - cdOffset;
  if (base < 0) return out;
  let p = base + cdOffset;
  for (let i = 0; i < count && p + 46 <= eocd; i++) {
    if (view.getUint32(p, true) !== 0x02014b50) break;
    const method = view.getUint16(p + 10, true);
    const compressed = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = base + view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) continue;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + compressed);
    if (method === 0) out.set(name, data);
    else if (method === 8) out.set(name, new Uint8Array(inflateRawSync(data)));
  }
  return out;
}
