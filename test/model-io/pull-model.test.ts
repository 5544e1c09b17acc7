import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import { ModelError } from '../../src/errors.js';
import { findCatalogEntry, type TfjsGraphCatalogEntry, type TfliteZipCatalogEntry } from '../../src/model-io/model-catalog.js';
import { cachedModel, modelCacheDir, MODEL_RECORD, pullModel, shardGroups } from '../../src/model-io/pull-model.js';
import { startFileServer, startProxyServer, type FileServer } from '../helpers/model-server.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

async function rejection(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

/** A small TF.js graph model: model.json with one float32 [3000] weight in two shards (8000 + 4000 bytes). */
function tfjsModel(): Record<string, Uint8Array> {
  const weights = bytes(12_000);
  const modelJson = {
    format: 'graph-model',
    modelTopology: { node: [] },
    weightsManifest: [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: [{ name: 'w', shape: [3000], dtype: 'float32' }] }],
  };
  return {
    'model.json': new TextEncoder().encode(JSON.stringify(modelJson)),
    'group1-shard1of2': weights.subarray(0, 8000),
    'group1-shard2of2': weights.subarray(8000),
  };
}

const TFJS_ENTRY: TfjsGraphCatalogEntry = {
  name: 'test-tfjs', format: 'tfjs-graph', description: 'test', publisher: 'test', baseUrl: 'http://unused.invalid/',
  entry: { file: 'model.json' }, input: { width: 300, height: 300 }, classes: 90, anchors: 1917,
};

function served(name: string, files: Record<string, Uint8Array>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(files).map(([f, b]) => [`/${name}/${f}`, b]));
}

describe('model-io/pull-model', function () {
  this.timeout(30_000);
  let server: FileServer;
  let cacheDir: string;

  beforeEach(async () => {
    server = await startFileServer();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-pull-'));
  });
  afterEach(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('modelCacheDir is $SSDPIPE_CACHE_DIR/models, else under the user cache dir', () => {
    expect(modelCacheDir({ SSDPIPE_CACHE_DIR: '/tmp/c' })).to.equal(path.resolve('/tmp/c/models'));
    expect(modelCacheDir({})).to.match(/ssdpipe[/\\]models$/);
  });

  describe('TF.js graph models', () => {
    let files: Record<string, Uint8Array>;
    beforeEach(() => {
      files = tfjsModel();
      for (const [p, b] of Object.entries(served('test-tfjs', files))) server.files.set(p, b);
    });

    it('downloads model.json and its shards, records their hashes, and is then cached and verified', async () => {
      expect(cachedModel(TFJS_ENTRY, { cacheDir })).to.equal(undefined);
      const pulled = await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      expect(pulled.downloaded).to.equal(true);
      expect(pulled.modelPath).to.equal(path.join(cacheDir, 'models', 'test-tfjs', 'model.json'));
      expect(server.requests.map((r) => r.path)).to.deep.equal(['/test-tfjs/model.json', '/test-tfjs/group1-shard1of2', '/test-tfjs/group1-shard2of2']);
      expect(pulled.files.map((f) => [f.file, f.size, f.sha256])).to.deep.equal(Object.entries(files).map(([f, b]) => [f, b.byteLength, sha256(b)]));
      expect((await readdir(pulled.dir)).sort()).to.deep.equal(['group1-shard1of2', 'group1-shard2of2', 'model.json', MODEL_RECORD]);
      expect(cachedModel(TFJS_ENTRY, { cacheDir })?.modelPath).to.equal(pulled.modelPath);
    });

    it('a cache hit makes no request', async () => {
      await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      server.requests.length = 0;
      const again = await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      expect(again.downloaded).to.equal(false);
      expect(server.requests).to.deep.equal([]);
    });

    it('a truncated cache file is detected and resumed with a Range request; the other files are kept', async () => {
      const pulled = await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      await truncate(path.join(pulled.dir, 'group1-shard1of2'), 3000);
      expect(cachedModel(TFJS_ENTRY, { cacheDir })).to.equal(undefined);
      server.requests.length = 0;
      const again = await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      expect(again.downloaded).to.equal(true);
      expect(server.requests).to.have.length(1);
      expect(server.requests[0]).to.include({ path: '/test-tfjs/group1-shard1of2', range: 'bytes=3000-' });
      expect(sha256(await readFile(path.join(pulled.dir, 'group1-shard1of2')))).to.equal(sha256(files['group1-shard1of2']!));
      expect(cachedModel(TFJS_ENTRY, { cacheDir })).to.not.equal(undefined);
    });

    it('a corrupt cache file (same size, other bytes) is fetched again whole', async () => {
      const pulled = await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      await writeFile(path.join(pulled.dir, 'group1-shard2of2'), bytes(4000));
      expect(cachedModel(TFJS_ENTRY, { cacheDir })).to.equal(undefined);
      server.requests.length = 0;
      await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url });
      expect(server.requests).to.deep.equal([{ path: '/test-tfjs/group1-shard2of2', range: undefined, ifRange: undefined }]);
      expect(cachedModel(TFJS_ENTRY, { cacheDir })).to.not.equal(undefined);
    });

    it('shards that do not add up to the weights model.json describes are an E_WEIGHTS error, and nothing is cached', async () => {
      server.files.set('/test-tfjs/group1-shard2of2', bytes(3999));
      const err = await rejection(pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url }));
      expect(err.code).to.equal('E_WEIGHTS');
      expect(err.message).to.include('are 11999 bytes').and.include('describes 12000');
      expect(cachedModel(TFJS_ENTRY, { cacheDir })).to.equal(undefined);
      expect(await readdir(path.join(cacheDir, 'models', 'test-tfjs'))).to.deep.equal(['model.json']);
    });

    it('a server error names the status; nothing is recorded as cached', async () => {
      server.behaviour.set('/test-tfjs/group1-shard2of2', { status: 503 });
      const err = await rejection(pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url }));
      expect(err.message).to.match(/^cannot download test-tfjs: the server answered 503 Service Unavailable for http:\/\/127\.0\.0\.1:\d+\/test-tfjs\/group1-shard2of2$/);
      expect(existsSync(path.join(cacheDir, 'models', 'test-tfjs', MODEL_RECORD))).to.equal(false);
    });

    it('goes through the proxy named by HTTP_PROXY in the environment', async () => {
      const proxy = await startProxyServer();
      try {
        await pullModel(TFJS_ENTRY, { cacheDir, mirror: server.url, env: { HTTP_PROXY: proxy.url } });
        expect(proxy.seen.length).to.be.at.least(1);
        expect(proxy.seen.every((s) => s === `CONNECT ${new URL(server.url).host}`)).to.equal(true);
        expect(server.requests).to.have.length(3);
      } finally {
        await proxy.close();
      }
    });

    it('shardGroups sums each group\'s bytes from dtypes and shapes (quantized ones by their storage dtype) and refuses paths outside the folder', () => {
      const json = (m: unknown): string => JSON.stringify({ weightsManifest: m });
      expect(shardGroups(json([{ paths: ['a'], weights: [
        { name: 'x', shape: [2, 3], dtype: 'float32' },
        { name: 'y', shape: [10], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } },
        { name: 'z', shape: [], dtype: 'int32' },
      ] }]), 'm')).to.deep.equal([{ paths: ['a'], bytes: 24 + 10 + 4 }]);
      expect(shardGroups(json([{ paths: ['a'], weights: [{ name: 's', shape: [1], dtype: 'string' }] }]), 'm')[0]!.bytes).to.equal(undefined);
      for (const bad of ['../x', 'a/b', '..', MODEL_RECORD]) {
        expect(() => shardGroups(json([{ paths: [bad], weights: [] }]), 'm')).to.throw(ModelError, 'not a plain file name');
      }
      expect(() => shardGroups('{', 'm')).to.throw(ModelError, 'is not JSON');
      expect(() => shardGroups('{}', 'm')).to.throw(ModelError, 'no weightsManifest');
    });
  });

  describe('TFLite archives', () => {
    const tflite = bytes(5000);
    const labelmap = '???\nperson\nbicycle\n';
    const entry: TfliteZipCatalogEntry = {
      name: 'test-tflite', format: 'tflite-zip', description: 'test', publisher: 'test', baseUrl: 'http://unused.invalid/',
      archive: { file: 'model.zip' },
      entry: { file: 'detect.tflite', size: tflite.byteLength, sha256: sha256(tflite) },
      labels: { file: 'labelmap.txt' },
      input: { width: 300, height: 300 }, classes: 2, anchors: 1917,
    };
    const zip = zipSync({ 'detect.tflite': tflite, 'labelmap.txt': new TextEncoder().encode(labelmap) });

    it('downloads the archive, extracts the checked .tflite and the label map (without its background line), and removes the archive', async () => {
      server.files.set('/test-tflite/model.zip', zip);
      const pulled = await pullModel(entry, { cacheDir, mirror: server.url });
      expect(pulled.modelPath).to.equal(path.join(cacheDir, 'models', 'test-tflite', 'detect.tflite'));
      expect(pulled.labelsPath).to.equal(path.join(cacheDir, 'models', 'test-tflite', 'labelmap.txt'));
      expect(sha256(await readFile(pulled.modelPath))).to.equal(sha256(tflite));
      expect(await readFile(pulled.labelsPath!, 'utf8')).to.equal('person\nbicycle\n');
      expect((await readdir(pulled.dir)).sort()).to.deep.equal(['detect.tflite', 'labelmap.txt', MODEL_RECORD]);
      server.requests.length = 0;
      expect((await pullModel(entry, { cacheDir, mirror: server.url })).downloaded).to.equal(false);
      expect(server.requests).to.deep.equal([]);
    });

    it('a truncated cached .tflite is detected and the archive fetched again', async () => {
      server.files.set('/test-tflite/model.zip', zip);
      const pulled = await pullModel(entry, { cacheDir, mirror: server.url });
      await truncate(pulled.modelPath, 100);
      expect(cachedModel(entry, { cacheDir })).to.equal(undefined);
      const again = await pullModel(entry, { cacheDir, mirror: server.url });
      expect(again.downloaded).to.equal(true);
      expect(sha256(await readFile(again.modelPath))).to.equal(sha256(tflite));
    });

    it('the real catalog entry, served a .tflite that is not the published one, fails with E_WEIGHTS and leaves no model file', async () => {
      const real = findCatalogEntry('coco-ssd-mobilenet-v1-quant') as TfliteZipCatalogEntry;
      const labels = `???\n${Array.from({ length: 90 }, (_, i) => `class${i}`).join('\n')}\n`;
      server.files.set(`/${real.name}/${real.archive.file}`, zipSync({ 'detect.tflite': tflite, 'labelmap.txt': new TextEncoder().encode(labels) }));
      const err = await rejection(pullModel(real.name, { cacheDir, env: { SSDPIPE_MODEL_MIRROR: server.url } }));
      expect(err.code).to.equal('E_WEIGHTS');
      expect(err.message).to.include(`detect.tflite in ${server.url}/${real.name}/${real.archive.file} is 5000 bytes, expected 4183312`);
      expect(await readdir(path.join(cacheDir, 'models', real.name))).to.deep.equal([]);
    });

    it('an archive without the .tflite is an E_MODEL error', async () => {
      server.files.set('/test-tflite/model.zip', zipSync({ 'labelmap.txt': new TextEncoder().encode(labelmap) }));
      const err = await rejection(pullModel(entry, { cacheDir, mirror: server.url }));
      expect(err.code).to.equal('E_MODEL');
      expect(err.message).to.equal('the archive of test-tflite has no detect.tflite');
    });
  });

  it('an unknown name is an E_MODEL error listing the downloadable models', async () => {
    const err = await rejection(pullModel('nope', { cacheDir }));
    expect(err.message).to.equal('no downloadable model is called "nope"');
    expect(err.hint).to.include('coco-ssd-mobilenet-v1-quant').and.include('coco-ssdlite-mobilenet-v2');
  });
});
