import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { OptionError, OutputError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { buildOnnxModel, DEFAULT_ONNX_OPSET, type OnnxInputLayout } from '../onnx/onnx-graph.js';
import { buildOnnxSidecar, formatSidecar, sidecarPathFor } from '../onnx/onnx-sidecar.js';
import type { LoadedModel } from './load-model.js';

/** Options of exportOnnx. */
export interface ExportOnnxOptions {
  /** Where the .onnx goes; the sidecar is written next to it (see sidecarPathFor). */
  outPath: string;
  /** Layout of the exported model's input: nhwc [batch, H, W, 3] or nchw [batch, 3, H, W]. */
  layout: OnnxInputLayout;
}

/**
 * Writes the model as a standalone .onnx plus its JSON sidecar (anchors, box coder, input
 * preprocessing, labels). Both files are written atomically; the parent directory is created.
 */
export async function exportOnnx(loaded: LoadedModel, opts: ExportOnnxOptions): Promise<{ onnxPath: string; sidecarPath: string }> {
  if (typeof opts.outPath !== 'string' || opts.outPath.trim() === '') throw new OptionError('outPath', 'a file path', opts.outPath);
  if (opts.layout !== 'nhwc' && opts.layout !== 'nchw') throw new OptionError('layout', '"nhwc" or "nchw"', opts.layout);
  if (/\.json$/i.test(opts.outPath)) {
    throw new OptionError('outPath', 'an .onnx path (the .json sidecar goes next to it)', opts.outPath, 'use e.g. -o face.onnx');
  }
  const onnxPath = path.resolve(opts.outPath);
  const sidecarPath = sidecarPathFor(onnxPath);

  const bytes = buildOnnxModel(loaded.graph, { inputLayout: opts.layout, opset: DEFAULT_ONNX_OPSET });
  const sidecar = buildOnnxSidecar(loaded.descriptor, loaded.graph, opts.layout, path.basename(onnxPath));

  const write = async (file: string, data: Uint8Array | string): Promise<void> => {
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, data);
    } catch (cause) {
      throw new OutputError(`cannot write ${file}: ${(cause as Error).message}`, {
        cause,
        hint: 'check that the output directory is writable, or choose another --output path',
      });
    }
  };
  await write(onnxPath, bytes);
  await write(sidecarPath, formatSidecar(sidecar));
  return { onnxPath, sidecarPath };
}

