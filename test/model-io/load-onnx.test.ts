import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { loadImage, createCanvas } from '@napi-rs/canvas';
import { filter, lastValueFrom, toArray } from 'rxjs';
import type { Detection } from '../../src/detection.js';
import { createOnnxEngine } from '../../src/engines/onnx.js';
import { createEngine } from '../../src/engines/select-engine.js';
import { EngineError, ModelError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { exportOnnx } from '../../src/model-io/export-onnx.js';
import { loadEngineModel, loadModel, readModelDescriptor } from '../../src/model-io/load-model.js';
import { readOnnxModel } from '../../src/model-io/load-onnx.js';
import { generateAnchors, SSD300_PRIOR_BOX } from '../../src/model/anchors.js';
import { buildSsdGraph } from '../../src/model/ssd-graph.js';
import { detect } from '../../src/pipeline/detect.js';
import { isFrameRecord } from '../../src/records.js';
import { maxAbsDiff } from '../helpers/arrays.js';
import { randomLayerListWeights, readLayerListDescriptor, SSD300_VGG16_PATH } from '../onnx/layer-list-fixture.js';

// An .onnx SSD with its sidecar, loaded by path (--model x.onnx) and run as given on the onnx
// engine: exported here from the face model and from SSD300-VGG16 with random weights, then
// compared with the same models run from their descriptions.

const require = createRequire(import.meta.url);
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

/** Same detections: labels and count equal, scores within 1e-3, boxes within 0.5 px. */
function expectSameDetections(got: readonly Detection[], want: readonly Detection[]): void {
  expect(got.map((d) => d.label)).to.deep.equal(want.map((d) => d.label));
  got.forEach((d, i) => {
    expect(d.score, `score ${i}`).to.be.closeTo(want[i].score, 1e-3);
    d.box.forEach((v, k) => expect(v, `box ${i}[${k}]`).to.be.closeTo(want[i].box[k], 0.5));
  });
}

async function photoDetections(model: string): Promise<readonly Detection[]> {
  const records = await lastValueFrom(detect(PHOTO, { model, track: false, score: 0.05, threads: 2 }).pipe(filter(isFrameRecord), toArray()));
  expect(records).to.have.length(1);
  return records[0].detections;
}

async function decodePhoto(file: string): Promise<Frame> {
  const img = await loadImage(file);
  const ctx = createCanvas(img.width, img.height).getContext('2d');
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return { source: path.basename(file), seq: 0, ptsMs: 0, width: img.width, height: img.height, data: rgb };
}

describe('model-io/load-onnx: an .onnx SSD with its sidecar, run as given', function () {
  this.timeout(180_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-load-onnx-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the exported face model, nchw and nhwc, finds the built-in face model\'s faces on a demo photo (--model <file.onnx>)', async () => {
    const face = await loadModel('face');
    const nchw = await exportOnnx(face, { outPath: path.join(dir, 'face-nchw.onnx'), layout: 'nchw' });
    const nhwc = await exportOnnx(face, { outPath: path.join(dir, 'face-nhwc.onnx'), layout: 'nhwc' });
    const builtIn = await photoDetections('face');
    expect(builtIn.filter((d) => d.score >= 0.5).length).to.be.at.least(3);
    expect(builtIn.length, 'score 0.05 brings weak ones too').to.be.above(3);
    expectSameDetections(await photoDetections(nchw.onnxPath), builtIn);
    expectSameDetections(await photoDetections(nhwc.onnxPath), builtIn);

    const { descriptor } = readModelDescriptor(nchw.onnxPath);
    expect(descriptor).to.deep.include({ name: 'face', labels: face.descriptor.labels, boxCoder: face.descriptor.boxCoder, network: { imported: 'onnx', numClasses: 3 } });
    expect(maxAbsDiff(Float32Array.from(descriptor.anchors.type === 'explicit' ? descriptor.anchors.values : []), generateAnchors(face.descriptor.anchors))).to.equal(0);
  });

  it('SSD300-VGG16 (random weights, nchw): 8732 anchors from the sidecar, the same detections as its generated graph', async () => {
    const desc = readLayerListDescriptor();
    const weights = randomLayerListWeights(desc, 300);
    const graph = buildSsdGraph(desc, weights);
    const res = await exportOnnx({ descriptor: desc, descriptorPath: SSD300_VGG16_PATH, weights, graph }, { outPath: path.join(dir, 'ssd300.onnx'), layout: 'nchw' });
    const { descriptor } = readModelDescriptor(res.onnxPath);
    expect(generateAnchors(descriptor.anchors).length / 4).to.equal(8732);
    expect(maxAbsDiff(generateAnchors(descriptor.anchors), generateAnchors(SSD300_PRIOR_BOX))).to.equal(0);
    expect(descriptor.boxCoder).to.deep.equal({ type: 'caffe', variances: [0.1, 0.1, 0.2, 0.2] });

    const fromFile = await createEngine(await loadEngineModel(res.onnxPath), { engine: 'onnx', threads: 2, warmupBatch: 0 });
    const generated = await createOnnxEngine(graph, { threads: 2, cacheDir: null, warmupBatch: 0 });
    try {
      expect(fromFile.reason).to.include(`model file ${res.onnxPath}`);
      // Random weights give softmax scores near 1/21: a low threshold lets NMS see many boxes.
      const post = { scoreThreshold: 0.045 };
      const frame = await decodePhoto(PHOTO);
      const [a] = await new SsdDetector(descriptor, fromFile, post).detect([frame]);
      const [b] = await new SsdDetector(desc, generated, post).detect([frame]);
      expect(a.detections.length).to.be.within(1, 200);
      expectSameDetections(a.detections, b.detections);
    } finally {
      await fromFile.dispose();
      await generated.dispose();
    }
  });

  it('the tfjs engine refuses an .onnx model with an EngineError that says to use the onnx engine', async () => {
    const res = await exportOnnx(await loadModel('face'), { outPath: path.join(dir, 'refuse.onnx'), layout: 'nhwc' });
    const err = await createEngine(await loadEngineModel(res.onnxPath), { engine: 'tfjs' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(EngineError).with.property('message').that.matches(/tfjs engine cannot run .*refuse\.onnx/);
    expect((err as EngineError).hint).to.match(/--engine onnx/);
    await loadModel(res.onnxPath).then(() => expect.fail('loadModel should refuse an .onnx'), (e: unknown) => expect(e).to.be.instanceOf(ModelError));
  });

  it('a missing or bad sidecar is a ModelError naming the file and the field; wrong output names an EngineError listing the model\'s', async () => {
    const { onnxPath: onnx, sidecarPath } = await exportOnnx(await loadModel('face'), { outPath: path.join(dir, 'bare.onnx'), layout: 'nhwc' });
    const good = JSON.parse(await readFile(sidecarPath, 'utf8')) as Record<string, any>;
    await rm(sidecarPath);
    expect(() => readOnnxModel(onnx)).to.throw(ModelError, /bare\.onnx has no sidecar .*bare\.json/);
    const bad: [string, (s: Record<string, any>) => void, RegExp][] = [
      ['format', (s) => (s.format = 'other'), /format must be "ssdpipe-onnx-sidecar"/],
      ['layout', (s) => (s.input.layout = 'hwc'), /input\.layout must be "nhwc" or "nchw"/],
      ['shape', (s) => (s.input.shape = [-1, 4, 512, 512]), /input\.shape must be \[batch, H, W, 3\]/],
      ['anchor count', (s) => s.anchors.values.pop(), /anchors\.count must be the number of anchors\.values \(5117\)/],
      ['output shape', (s) => (s.outputs.class_logits.shape = [-1, 5118, 91]), /outputs\.class_logits\.shape must be \[batch, 5118, 3\]/],
      ['box coder', (s) => (s.boxCoder = { type: 'tf', scales: [10, 10, 5] }), /boxCoder must be/],
      ['background', (s) => (s.scores.backgroundClass = 3), /scores\.backgroundClass must be null or a column in 0\.\.2/],
    ];
    for (const [what, mutate, pattern] of bad) {
      const s = structuredClone(good);
      mutate(s);
      await writeFile(path.join(dir, 'bare.json'), JSON.stringify(s));
      expect(() => readOnnxModel(onnx), what).to.throw(ModelError, pattern).with.property('message').that.includes('bare.json');
    }
    // A sidecar that is consistent in itself but not with the model: the first run says so.
    const fewer = structuredClone(good);
    fewer.anchors.values.pop();
    fewer.anchors.count = 5117;
    fewer.outputs.box_encodings.shape = [-1, 5117, 4];
    fewer.outputs.class_logits.shape = [-1, 5117, 3];
    await writeFile(path.join(dir, 'bare.json'), JSON.stringify(fewer));
    const mismatch = await createEngine(readOnnxModel(onnx).file, { engine: 'onnx', threads: 1, warmupBatch: 1 }).catch((e: unknown) => e);
    expect(mismatch).to.include({ name: 'EngineError' }).and.have.property('hint').that.matches(/the sidecar of .*bare\.onnx does not match the model/);

    const renamed = structuredClone(good);
    renamed.outputs.box_encodings.name = 'boxes';
    await writeFile(path.join(dir, 'bare.json'), JSON.stringify(renamed));
    const err = await createEngine(readOnnxModel(onnx).file, { engine: 'onnx', threads: 1, warmupBatch: 0 }).catch((e: unknown) => e);
    // By name and code: the engine module is imported dynamically, which under mocha + tsx is another module instance.
    expect(err).to.include({ name: 'EngineError', code: 'E_ENGINE' }).and.have.property('message').that.matches(/has no output boxes \(its inputs: image; outputs: box_encodings, class_logits\)/);
  });
});
