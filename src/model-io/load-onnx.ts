import { existsSync, readFileSync } from 'node:fs';
import { ModelError } from '../errors.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { onnxModelFromSidecar, type OnnxModelFile } from '../onnx/onnx-model-file.js';
import { sidecarPathFor } from '../onnx/onnx-sidecar.js';

/** True for a path that names an ONNX model file. */
export function isOnnxPath(p: string): boolean {
  return /\.onnx$/i.test(p);
}

/**
 * Reads the sidecar next to an .onnx SSD (`face.onnx` -> `face.json`, as `ssdpipe models export`
 * writes it): the model's descriptor, and what the ONNX engine needs to run the file as given.
 * The .onnx itself is read by the engine.
 */
export function readOnnxModel(onnxPath: string): { descriptor: ModelDescriptor; file: OnnxModelFile } {
  const sidecarPath = sidecarPathFor(onnxPath);
  if (!existsSync(onnxPath)) {
    throw new ModelError('E_MODEL', `ONNX model ${onnxPath} not found`, { hint: 'check the path given to --model' });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(sidecarPath, 'utf8'));
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError('E_MODEL', missing ? `ONNX model ${onnxPath} has no sidecar ${sidecarPath}` : `cannot read the sidecar ${sidecarPath}: ${(cause as Error).message}`, {
      cause,
      hint: 'an .onnx SSD needs the sidecar JSON that `ssdpipe models export` writes next to it (input size, layout, normalization, output names, anchors, box coder, labels)',
    });
  }
  return onnxModelFromSidecar(raw, onnxPath, sidecarPath);
}
