import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { filter, lastValueFrom, toArray } from 'rxjs';
import type { Detection } from '../../src/detection.js';
import type { Engine } from '../../src/engines/engine.js';
import { createEngine, resolveEngineKind } from '../../src/engines/select-engine.js';
import { selectTfjsBackend } from '../../src/engines/tfjs-backend.js';
import { EngineError, ModelError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { loadEngineModel, loadModel, readModelDescriptor } from '../../src/model-io/load-model.js';
import { isTfjsGraphModel, type TfjsGraphModel } from '../../src/model/tfjs-graph-model.js';
import { detect } from '../../src/pipeline/detect.js';
import { isFrameRecord } from '../../src/records.js';
import { buildCocoSsdGraphModel, type FixtureAnchor, type GraphModelFiles } from '../helpers/tfjs-graph-builder.js';

// TF.js graph models in coco-ssd's layout, run as given on the tfjs engine. The model is built
// here from constants (test/helpers/tfjs-graph-builder.ts): its outputs encode the detections
// below, so what comes out of the detector can be checked exactly.

const PHOTO = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

/**
 * The first anchors of the fixture; all others score 0. Columns: 0 person, 1 bicycle, 2 car,
 * 11 (COCO id 12, unused: no label), 17 dog.
 */
const ANCHORS: FixtureAnchor[] = [
  { box: [0.1, 0.2, 0.5, 0.6], scores: { 0: 0.9 } },
  // Overlaps anchor 0 (IoU ~0.82): the same class is suppressed, another class is kept (class-wise NMS).
  { box: [0.12, 0.22, 0.52, 0.62], scores: { 0: 0.8, 2: 0.7 } },
  { box: [0.6, 0.6, 0.9, 0.95], scores: { 17: 0.6 } },
  // Below coco-ssd's default threshold of 0.5.
  { box: [0, 0, 0.3, 0.3], scores: { 0: 0.3 } },
  // A column without a label is never reported, whatever its score.
  { box: [0.4, 0.4, 0.5, 0.5], scores: { 11: 0.95 } },
  // Scores 0.8 x the frame's mean brightness (0..1): only bright frames have a bicycle.
  { box: [0.3, 0.3, 0.4, 0.4], scores: {}, gain: { 1: 0.8 } },
];

/**
 * A ModelError thrown from an engine module: createEngine imports engines dynamically, and under
 * mocha with tsx that module graph has its own copy of errors.ts, so the class is checked by name.
 */
function expectModelError(err: unknown, message: string | RegExp): ModelError {
  expect(err).to.be.instanceOf(Error).with.property('name', 'ModelError');
  const e = err as ModelError;
  expect(e.code).to.be.oneOf(['E_MODEL', 'E_WEIGHTS']);
  if (typeof message === 'string') expect(e.message).to.equal(message);
  else expect(e.message).to.match(message);
  return e;
}

/** What a white frame gives: [label, score, [x1, y1, x2, y2]], best first. */
const WHITE_FRAME: [string, number, [number, number, number, number]][] = [
  ['person', 0.9, [0.2, 0.1, 0.6, 0.5]],
  ['bicycle', 0.8, [0.3, 0.3, 0.4, 0.4]],
  ['car', 0.7, [0.22, 0.12, 0.62, 0.52]],
  ['dog', 0.6, [0.6, 0.6, 0.95, 0.9]],
];

function frame(value: number, seq = 0, width = 64, height = 48): Frame {
  return { source: 'test', seq, ptsMs: seq * 40, width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

function expectDetections(got: readonly Detection[], want: typeof WHITE_FRAME): void {
  expect(got.map((d) => d.label)).to.deep.equal(want.map((w) => w[0]));
  got.forEach((d, i) => {
    expect(d.score, `score of ${d.label}`).to.be.closeTo(want[i][1], 1e-5);
    d.box.forEach((v, k) => expect(v, `box of ${d.label}[${k}]`).to.be.closeTo(want[i][2][k], 1e-6));
  });
}

async function writeModel(dir: string, files: GraphModelFiles): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(files.modelJson));
  for (const [name, bytes] of Object.entries(files.shards)) await writeFile(path.join(dir, name), bytes);
  return path.join(dir, 'model.json');
}

/** A static file server over a folder's files, on 127.0.0.1 and a free port; counts requests. */
async function serveFiles(files: Record<string, Uint8Array | string>): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(p);
    const body = files[p];
    if (body === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-type': p.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

describe('engines/tfjs-graph: TF.js graph models in coco-ssd\'s layout', function () {
  this.timeout(60_000);
  let dir: string;
  let modelJson: string;

  before(async () => {
    // tf.memory() needs an active backend before the first engine makes one active.
    await selectTfjsBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-tfjs-graph-'));
    modelJson = await writeModel(path.join(dir, 'fixture-ssd'), buildCocoSsdGraphModel(ANCHORS));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a folder or its model.json reads as coco-ssd\'s layout: 300x300 pixels as given, no anchors, decoded boxes, COCO labels', async () => {
    for (const arg of [path.dirname(modelJson), modelJson, `file://${modelJson}`]) {
      const { descriptor, descriptorPath } = readModelDescriptor(arg);
      expect(descriptorPath).to.equal(modelJson);
      expect(descriptor).to.deep.include({
        name: 'fixture-ssd',
        weights: { format: 'tfjs-graph', path: modelJson },
        input: { width: 300, height: 300, resize: 'stretch', normalize: { scale: 1, offset: 0 } },
        network: { imported: 'tfjs-graph', numClasses: 90 },
        anchors: { type: 'none', count: 1917 },
        boxCoder: { type: 'none' },
        scores: { activation: 'none', backgroundClass: null },
        postprocess: { scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 20, classAgnostic: false },
      });
      expect(descriptor.labels).to.have.length(90);
      // Column c is COCO id c + 1 (coco-ssd's classes.ts): 80 names, 10 unused ids.
      expect([descriptor.labels[0], descriptor.labels[2], descriptor.labels[11], descriptor.labels[17], descriptor.labels[89]]).to.deep.equal(['person', 'car', null, 'dog', 'toothbrush']);
      expect(descriptor.labels.filter((l) => l !== null)).to.have.length(80);
    }
    const model = await loadEngineModel(path.dirname(modelJson));
    expect(isTfjsGraphModel(model)).to.equal(true);
    expect(model).to.deep.include({ source: modelJson, inputName: 'image_tensor', outputNames: { scores: 'Postprocessor/Slice', boxes: 'Postprocessor/ExpandDims_1' } });
    const err = await loadModel(modelJson).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ModelError).with.property('message').that.matches(/is a TF\.js graph model, which runs as given on the tfjs engine/);
  });

  it('runs from a folder on the tfjs engine: the detections the constants encode, class-wise NMS, a batch of two, and no tensor left behind', async () => {
    const { descriptor } = readModelDescriptor(path.dirname(modelJson));
    const before = tf.memory().numTensors;
    const engine = await createEngine(await loadEngineModel(path.dirname(modelJson)), { backend: 'cpu' });
    try {
      expect(tf.memory().numTensors, 'the graph\'s weights are tensors while the engine lives').to.be.above(before);
      expect(engine.kind).to.equal('tfjs');
      expect(engine.reason).to.include(`TF.js graph model ${modelJson}`);
      const detector = new SsdDetector(descriptor, engine, {});
      const loaded = tf.memory().numTensors;
      const [white, black] = await detector.detect([frame(255, 0), frame(0, 1)]);
      expectDetections(white.detections, WHITE_FRAME);
      expectDetections(black.detections, WHITE_FRAME.filter(([label]) => label !== 'bicycle'));
      // A run leaves no tensor behind: only the graph's weights stay while the engine lives.
      await detector.detect([frame(128)]);
      expect(tf.memory().numTensors).to.equal(loaded);

      // Light grey: the bicycle scores 0.8 x 200/255.
      const [grey] = await detector.detect([frame(200)]);
      expect(grey.detections.find((d) => d.label === 'bicycle')!.score).to.be.closeTo((0.8 * 200) / 255, 1e-5);

      // Overrides as for any model: a lower threshold lets the 0.3 person through, agnostic NMS drops the car.
      const low = await new SsdDetector(descriptor, engine, { scoreThreshold: 0.25, classAgnostic: true }).detect([frame(0)]);
      expect(low[0].detections.map((d) => [d.label, Math.round(d.score * 100)])).to.deep.equal([['person', 90], ['dog', 60], ['person', 30]]);
      const cars = await new SsdDetector(descriptor, engine, { classes: ['car'] }).detect([frame(0)]);
      expect(cars[0].detections.map((d) => d.label)).to.deep.equal(['car']);
    } finally {
      await engine.dispose();
    }
    expect(tf.memory().numTensors, 'tensors after dispose').to.equal(before);
  });

  it('a graph with a dynamic-shape op runs with executeAsync (as coco-ssd\'s real graphs), the same detections, nothing printed, nothing left', async () => {
    const dynamicJson = await writeModel(path.join(dir, 'dynamic'), buildCocoSsdGraphModel(ANCHORS, undefined, { dynamic: true }));
    const { descriptor } = readModelDescriptor(dynamicJson);
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    const before = tf.memory().numTensors;
    try {
      const engine = await createEngine(await loadEngineModel(dynamicJson), { backend: 'cpu', warmupBatch: 2 });
      try {
        const loaded = tf.memory().numTensors;
        const [white, black] = await new SsdDetector(descriptor, engine, {}).detect([frame(255), frame(0, 1)]);
        expectDetections(white.detections, WHITE_FRAME);
        expectDetections(black.detections, WHITE_FRAME.filter(([label]) => label !== 'bicycle'));
        expect(tf.memory().numTensors).to.equal(loaded);
      } finally {
        await engine.dispose();
      }
      // The fixture without the dynamic op runs with execute(): executeAsync would have warned.
      const plain = await createEngine(await loadEngineModel(modelJson), { backend: 'cpu' });
      await new SsdDetector(descriptor, plain, {}).detect([frame(255)]);
      await plain.dispose();
    } finally {
      console.warn = warn;
    }
    expect(warnings).to.deep.equal([]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('runs from a URL served on 127.0.0.1 (tfjs\'s http handler on Node\'s fetch), with the same detections', async () => {
    const files = buildCocoSsdGraphModel(ANCHORS);
    const served: Record<string, Uint8Array | string> = { '/models/fixture-ssd/model.json': JSON.stringify(files.modelJson) };
    for (const [name, bytes] of Object.entries(files.shards)) served[`/models/fixture-ssd/${name}`] = bytes;
    const server = await serveFiles(served);
    try {
      const url = `${server.url}/models/fixture-ssd/model.json`;
      const { descriptor, descriptorPath } = readModelDescriptor(url);
      expect(descriptorPath).to.equal(url);
      expect(descriptor.name).to.equal('fixture-ssd');
      expect(server.requests, 'reading the descriptor fetches nothing').to.deep.equal([]);

      const before = tf.memory().numTensors;
      const engine = await createEngine(await loadEngineModel(url), { backend: 'cpu' });
      try {
        expect(server.requests).to.deep.equal(['/models/fixture-ssd/model.json', '/models/fixture-ssd/group1-shard1of1.bin']);
        const [white] = await new SsdDetector(descriptor, engine, {}).detect([frame(255)]);
        expectDetections(white.detections, WHITE_FRAME);
      } finally {
        await engine.dispose();
      }
      expect(tf.memory().numTensors).to.equal(before);

      // A URL that is not there: a ModelError naming it, nothing left behind.
      const err = await createEngine(await loadEngineModel(`${server.url}/models/missing/model.json`), { backend: 'cpu' }).catch((e: unknown) => e);
      expectModelError(err, /^cannot load TF\.js graph model http:\/\/127\.0\.0\.1:\d+\/models\/missing\/model\.json: .*404/);
      expect(tf.memory().numTensors).to.equal(before);
    } finally {
      await server.close();
    }
  });

  it('detect() on a photo with --model <folder>: the encoded detections in the photo\'s frame; --labels renames them; --engine onnx is refused', async () => {
    const run = async (options: Parameters<typeof detect>[1]): Promise<readonly Detection[]> => {
      const records = await lastValueFrom(detect(PHOTO, { track: false, threads: 1, ...options }).pipe(filter(isFrameRecord), toArray()));
      expect(records).to.have.length(1);
      return records[0].detections;
    };
    const found = await run({ model: path.dirname(modelJson), backend: 'wasm' });
    // The bicycle's score follows the photo's brightness; the others are as encoded.
    expectDetections(found.filter((d) => d.label !== 'bicycle'), WHITE_FRAME.filter(([label]) => label !== 'bicycle'));

    const labels = path.join(dir, 'labels.txt');
    await writeFile(labels, Array.from({ length: 90 }, (_, c) => `thing ${c}`).join('\n'));
    // Column 11 (COCO id 12, unused) has a label now, so its 0.95 is reported.
    const renamed = (await run({ model: modelJson, labels, backend: 'wasm' })).map((d) => d.label).filter((l) => l !== 'thing 1');
    expect(renamed).to.deep.equal(['thing 11', 'thing 0', 'thing 2', 'thing 17']);

    const err = await run({ model: modelJson, engine: 'onnx' }).catch((e: unknown) => e);
    expect(err).to.have.property('name', 'EngineError');
    expect((err as EngineError).message).to.match(/^the onnx engine cannot run .*model\.json: a TF\.js graph model/);
  });

  it('auto picks the tfjs engine; the onnx engine refuses a TF.js graph model with an EngineError saying why', async () => {
    expect(await resolveEngineKind({ tfjsGraph: true })).to.deep.include({ kind: 'tfjs', why: 'auto: a TF.js graph model runs on the tfjs engine' });
    const model = (await loadEngineModel(modelJson)) as TfjsGraphModel;
    const err = await createEngine(model, { engine: 'onnx' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(EngineError);
    expect((err as EngineError).message).to.equal(
      `the onnx engine cannot run ${modelJson}: a TF.js graph model is TF ops run as given by tfjs-converter, not an SSD ssdpipe can lower to ONNX (--engine onnx)`,
    );
    expect((err as EngineError).hint).to.match(/--engine tfjs/);
  });

  it('a graph not in coco-ssd\'s layout is a ModelError naming what is missing or the wrong shape, and leaves no tensor', async () => {
    const before = tf.memory().numTensors;
    const renamed = buildCocoSsdGraphModel(ANCHORS);
    const nodes = (renamed.modelJson.modelTopology as { node: { name: string }[] }).node;
    nodes.find((n) => n.name === 'Postprocessor/Slice')!.name = 'scores';
    const renamedJson = await writeModel(path.join(dir, 'renamed'), renamed);
    const err = await createEngine(await loadEngineModel(renamedJson), { backend: 'cpu' }).catch((e: unknown) => e);
    expect(expectModelError(err, `TF.js model ${renamedJson} is not in coco-ssd's layout: it has no output node Postprocessor/Slice`).hint).to.match(/image_tensor/);

    // Right names, wrong sizes: found by the warm-up run.
    const small = await writeModel(path.join(dir, 'small'), buildCocoSsdGraphModel(ANCHORS, { anchors: 100, classes: 90 }));
    const shapeErr = await createEngine(await loadEngineModel(small), { backend: 'cpu' }).catch((e: unknown) => e);
    expectModelError(shapeErr, `TF.js model ${small}: output Postprocessor/Slice (scores) has shape [1, 100, 90], expected [1, 1917, 90]`);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
