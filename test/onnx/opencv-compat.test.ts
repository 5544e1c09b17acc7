import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { exportOnnx } from '../../src/model-io/export-onnx.js';
import { loadModel, type LoadedModel } from '../../src/model-io/load-model.js';
import { buildSsdGraph } from '../../src/model/ssd-graph.js';
import { maxAbsDiff, randomFloats, randomFrames } from '../helpers/arrays.js';
import { randomLayerListWeights, readLayerListDescriptor, SSD300_VGG16_PATH } from './layer-list-fixture.js';

const run = promisify(execFile);

/** Debian's python3-opencv lives in the system interpreter, not in a virtualenv's. */
const PYTHON = '/usr/bin/python3';

/**
 * argv: model.onnx input.f32 dims(comma-separated) out_dir. Loads the model with OpenCV's DNN
 * importer, runs one forward pass on the raw float32 blob and writes each output as raw float32.
 */
const OPENCV_FORWARD = `
import sys, cv2, numpy as np
model, blob, dims, out = sys.argv[1], sys.argv[2], [int(d) for d in sys.argv[3].split(',')], sys.argv[4]
net = cv2.dnn.readNetFromONNX(model)
net.setInput(np.fromfile(blob, dtype=np.float32).reshape(dims))
names = ['box_encodings', 'class_logits']
for name, value in zip(names, net.forward(names)):
    np.ascontiguousarray(value, dtype=np.float32).tofile(f'{out}/{name}.f32')
    print(name, 'x'.join(str(d) for d in value.shape))
print('opencv', cv2.__version__)
`;

/** OpenCV's version, or why it cannot be used. */
async function opencvVersion(): Promise<{ version?: string; why?: string }> {
  try {
    const { stdout } = await run(PYTHON, ['-c', 'import cv2; print(cv2.__version__)'], { timeout: 30_000 });
    return { version: stdout.trim() };
  } catch (err) {
    return { why: `${PYTHON} cannot import cv2 (install python3-opencv): ${(err as Error).message.split('\n')[0]}` };
  }
}

/** [n, H, W, 3] -> [n, 3, H, W] */
function toNchw(x: Float32Array, n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < h * w; p++) {
      for (let c = 0; c < 3; c++) out[(b * 3 + c) * h * w + p] = x[(b * h * w + p) * 3 + c];
    }
  }
  return out;
}

describe('onnx/opencv-compat: `models export` output loads in OpenCV DNN', function () {
  this.timeout(120_000);
  let loaded: LoadedModel;
  let dir: string;
  let cv: { version?: string; why?: string };

  before(async () => {
    cv = await opencvVersion();
    loaded = await loadModel('face');
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-opencv-test-'));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Exports the model, runs it in ONNX Runtime and in OpenCV on the same blob; returns the largest differences. */
  async function compare(ctx: Mocha.Context, model: LoadedModel, tag: string, layout: 'nchw' | 'nhwc', nhwc: Float32Array): Promise<Record<string, number>> {
    if (!cv.version) {
      // Mocha prints the title of a skipped test as pending: say why there.
      ctx.test!.title += ` (skipped: ${cv.why})`;
      ctx.skip();
    }
    const { onnxPath } = await exportOnnx(model, { outPath: path.join(dir, `${tag}-${layout}.onnx`), layout });
    const H = model.graph.inputHeight;
    const W = model.graph.inputWidth;
    const blob = layout === 'nchw' ? toNchw(nhwc, 1, H, W) : nhwc;
    const dims = layout === 'nchw' ? [1, 3, H, W] : [1, H, W, 3];

    const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 2, logSeverityLevel: 3 });
    let ref: ort.InferenceSession.OnnxValueMapType;
    try {
      ref = await session.run({ image: new ort.Tensor('float32', blob, dims) });
    } finally {
      await session.release();
    }

    const blobPath = path.join(dir, `blob-${tag}-${layout}.f32`);
    await writeFile(blobPath, blob);
    const outDir = await mkdtemp(path.join(dir, `cv-${tag}-${layout}-`));
    const { stdout } = await run(PYTHON, ['-c', OPENCV_FORWARD, onnxPath, blobPath, dims.join(','), outDir], { timeout: 90_000 });
    const A = model.graph.numAnchors;
    expect(stdout).to.include(`box_encodings 1x${A}x4`).and.include(`class_logits 1x${A}x${model.graph.numClasses}`);

    const diffs: Record<string, number> = {};
    for (const name of ['box_encodings', 'class_logits'] as const) {
      const bytes = await readFile(path.join(outDir, `${name}.f32`));
      const got = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const want = ref[name].data as Float32Array;
      expect(got.length).to.equal(want.length);
      diffs[name] = maxAbsDiff(got, want);
      // The report of this comparison (OpenCV version and the largest difference) is the test title.
      ctx.test!.title += ` [${name}: max |opencv ${cv.version} - ort| = ${diffs[name].toExponential(2)}, max |ort| = ${maxAbs(want).toPrecision(3)}]`;
    }
    return diffs;
  }

  for (const layout of ['nchw', 'nhwc'] as const) {
    it(`runs the exported face model (${layout}) with outputs within 1e-3 of ONNX Runtime's`, async function () {
      const diffs = await compare(this, loaded, 'face', layout, randomFrames(1, 21)); // [1, 512, 512, 3] in [-1, 1]
      expect(diffs.box_encodings).to.be.below(1e-3);
      expect(diffs.class_logits).to.be.below(1e-3);
    });
  }

  it('runs SSD300-VGG16 with random weights (max pooling, dilation, L2 norm) with outputs within 1e-3 of ONNX Runtime\'s', async function () {
    const desc = readLayerListDescriptor();
    const weights = randomLayerListWeights(desc, 300);
    const model: LoadedModel = { descriptor: desc, descriptorPath: SSD300_VGG16_PATH, weights, graph: buildSsdGraph(desc, weights) };
    const diffs = await compare(this, model, 'ssd300', 'nchw', randomFloats(300 * 300 * 3, 23, -117, 138));
    expect(diffs.box_encodings).to.be.below(1e-3);
    expect(diffs.class_logits).to.be.below(1e-3);
  });
});

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}
