import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { ModelError } from '../../src/errors.js';
import { ensureModel, loadModel, readModelDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { findCatalogEntry, type TfliteZipCatalogEntry } from '../../src/model-io/model-catalog.js';
import { startFileServer, type FileServer } from '../helpers/model-server.js';

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

  it('a TF.js graph model is refused before anything is downloaded', async () => {
    const download = { cacheDir, mirror: server.url };
    let err: unknown;
    await loadModel('coco-ssd-mobilenet-v2', { download }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ModelError);
    expect((err as ModelError).message).to.equal('model coco-ssd-mobilenet-v2 is a TF.js graph model (model.json), which ssdpipe cannot run yet');
    expect(server.requests).to.deep.equal([]);
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
