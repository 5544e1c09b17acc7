import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { ModelError } from '../../src/errors.js';
import { createEngine } from '../../src/engines/select-engine.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { ensureModel, loadEngineModel, loadModel, readModelDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { findCatalogEntry, type TfliteZipCatalogEntry } from '../../src/model-io/model-catalog.js';
import { startFileServer, type FileServer } from '../helpers/model-server.js';
import { buildCocoSsdGraphModel } from '../helpers/tfjs-graph-builder.js';

// --model <catalog name>: resolved through the cache, downloaded on first use. The archive is
// built here from the real COCO .tflite in ../shared/models (never downloaded), served from 127.0.0.1.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED_TFLITE = path.resolve(ROOT, '..', 'shared', 'models', 'coco-ssd-mobilenet-v1-quant', 'ssd_mobilenet_v1.tflite');
const NAME = 'coco-ssd-mobilenet-v1-quant';

function thrown(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('model-io/load-model with downloadable models', function () {
  this.timeout(60_000);
  let server: FileServer;
  let cacheDir: string;

  beforeEach(async () => {
    server = await startFileServer();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-load-catalog-'));
  });
  afterEach(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('a catalog name not yet downloaded is an E_MODEL error telling to pull it (the synchronous path makes no request)', () => {
    const err = thrown(() => readModelDescriptor(NAME, { download: { cacheDir } }));
    expect(err.message).to.equal(`model ${NAME} is not downloaded yet (or its cached copy failed verification)`);
    expect(err.hint).to.equal(`run: ssdpipe models pull ${NAME}`);
    expect(server.requests).to.deep.equal([]);
  });

  it('a TF.js graph model name is downloaded on first use and runs on the tfjs engine (a small graph in coco-ssd\'s layout stands in for it)', async () => {
    const name = 'coco-ssd-mobilenet-v2';
    const files = buildCocoSsdGraphModel([{ box: [0.1, 0.2, 0.5, 0.6], scores: { 0: 0.9 } }, { box: [0.6, 0.6, 0.9, 0.95], scores: { 17: 0.7 } }]);
    server.files.set(`/${name}/model.json`, new TextEncoder().encode(JSON.stringify(files.modelJson)));
    for (const [f, b] of Object.entries(files.shards)) server.files.set(`/${name}/${f}`, b);
    const download = { cacheDir, mirror: server.url };
    expect(thrown(() => readModelDescriptor(name, { download })).hint).to.equal(`run: ssdpipe models pull ${name}`);

    const model = await loadEngineModel(name, { download });
    const modelJson = path.join(cacheDir, 'models', name, 'model.json');
    expect(model).to.deep.include({ kind: 'tfjs-graph', source: modelJson });
    expect(server.requests.map((r) => r.path)).to.deep.equal([`/${name}/model.json`, `/${name}/group1-shard1of1.bin`]);
    const { descriptor, descriptorPath } = readModelDescriptor(name, { download });
    expect(descriptorPath).to.equal(modelJson);
    expect(descriptor).to.deep.include({ name, network: { imported: 'tfjs-graph', numClasses: 90 } });

    const engine = await createEngine(model, { backend: 'cpu' });
    try {
      const frame = { source: 'test', seq: 0, ptsMs: 0, width: 30, height: 20, data: new Uint8Array(30 * 20 * 3) };
      const [found] = await new SsdDetector(descriptor, engine, {}).detect([frame]);
      expect(found.detections.map((d) => [d.label, Math.round(d.score * 10)])).to.deep.equal([['person', 9], ['dog', 7]]);
    } finally {
      await engine.dispose();
    }
    // loadModel (descriptor, weights and an SSD graph to export) is not for a graph run as given.
    const err = await loadModel(name, { download }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ModelError).with.property('message').that.matches(/is a TF\.js graph model, which runs as given on the tfjs engine/);
    expect(server.requests).to.have.length(2);
  });

  it('bundled names and paths need no download', async () => {
    await ensureModel('face', { cacheDir, mirror: server.url });
    await ensureModel('./models/face.json', { cacheDir, mirror: server.url });
    expect(resolveDescriptorPath('face')).to.equal(path.join(ROOT, 'models', 'face.json'));
    expect(server.requests).to.deep.equal([]);
  });

  it('loadModel downloads the COCO TFLite model on first use and reads its labels from the archive\'s label map', async function () {
    if (!existsSync(SHARED_TFLITE)) this.skip(); // the real model lives outside the repository (see its README)
    const entry = findCatalogEntry(NAME) as TfliteZipCatalogEntry;
    const labels = readFileSync(path.join(path.dirname(SHARED_TFLITE), 'labelmap.txt'), 'utf8');
    // The published archive's label map has a leading '???' line for the background.
    const zip = zipSync({ 'detect.tflite': new Uint8Array(readFileSync(SHARED_TFLITE)), 'labelmap.txt': new TextEncoder().encode(`???\n${labels}`) });
    server.files.set(`/${NAME}/${entry.archive.file}`, zip);
    const download = { cacheDir, mirror: server.url };

    const model = await loadModel(NAME, { download });
    expect(model.descriptorPath).to.equal(path.join(cacheDir, 'models', NAME, 'detect.tflite'));
    expect(model.graph.numAnchors).to.equal(entry.anchors);
    expect(model.descriptor.input).to.include({ width: 300, height: 300 });
    expect(model.descriptor.labels).to.include('person').and.include('dog');
    expect(model.descriptor.labels.filter((l) => l === 'person')).to.have.length(1);
    expect(model.descriptor.labels.indexOf('person')).to.equal(model.descriptor.labels.findIndex((l) => l !== null));
    expect(server.requests).to.have.length(1);

    // Now cached: the synchronous path finds it, with the same labels, and nothing more is fetched.
    const { descriptor, descriptorPath } = readModelDescriptor(NAME, { download });
    expect(descriptorPath).to.equal(model.descriptorPath);
    expect(descriptor.labels).to.deep.equal(model.descriptor.labels);
    await ensureModel(NAME, download);
    expect(server.requests).to.have.length(1);
  });
});
