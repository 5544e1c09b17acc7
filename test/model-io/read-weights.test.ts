import { expect } from 'chai';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ModelError } from '../../src/errors.js';
import type { ManifestGroup } from '../../src/model/weights.js';
import { loadTfjsManifest, loadWeights, resolveManifestPath } from '../../src/model-io/read-weights.js';

const require = createRequire(import.meta.url);
const FACE_API = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const MANIFEST = 'model/ssd_mobilenetv1_model-weights_manifest.json';
const FACE_WEIGHTS = { format: 'tfjs-manifest', package: '@vladmandic/face-api', manifest: MANIFEST } as const;

async function rejection(p: Promise<unknown>): Promise<ModelError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(ModelError);
  return err as ModelError;
}

describe('model-io/read-weights', function () {
  this.timeout(30_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-read-weights-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds a manifest inside an installed package, or a path against the base dir', () => {
    expect(resolveManifestPath(FACE_WEIGHTS)).to.equal(path.join(FACE_API, MANIFEST));
    expect(resolveManifestPath({ format: 'tfjs-manifest', manifest: 'w/m.json' }, '/base')).to.equal(path.resolve('/base/w/m.json'));
    expect(resolveManifestPath({ format: 'tfjs-manifest', manifest: '/abs/m.json' }, '/base')).to.equal(path.resolve('/abs/m.json'));
  });

  it('a weights package that is not installed: E_WEIGHTS saying how to install it', () => {
    let err: unknown;
    try {
      resolveManifestPath({ format: 'tfjs-manifest', package: '@ssdpipe-test/no-such-weights', manifest: 'm.json' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ModelError);
    expect(err).to.include({ code: 'E_WEIGHTS', message: 'weights package @ssdpipe-test/no-such-weights is not installed' });
    expect((err as ModelError).hint).to.include('npm install @ssdpipe-test/no-such-weights');
    expect((err as ModelError).cause).to.be.instanceOf(Error);
  });

  it('reads all 151 weights of the face-api manifest: 5,616,957 bytes of shards, every byte used', async () => {
    const weights = await loadWeights(FACE_WEIGHTS);
    const groups = JSON.parse(await readFile(path.join(FACE_API, MANIFEST), 'utf8')) as ManifestGroup[];
    const entries = groups.flatMap((g) => g.weights);
    expect(weights.size).to.equal(151);
    expect([...weights.keys()]).to.deep.equal(entries.map((e) => e.name));
    // Bytes each decoded weight stands for: 1 per uint8-quantized value, 4 per float32 / int32.
    let bytes = 0;
    for (const e of entries) {
      const w = weights.get(e.name)!;
      expect(w.shape, e.name).to.deep.equal(e.shape);
      expect(w.data.length, e.name).to.equal(e.shape.reduce((a, b) => a * b, 1));
      bytes += w.data.length * (e.quantization?.dtype === 'uint8' ? 1 : 4);
    }
    expect(bytes).to.equal(5_616_957);
    expect(bytes).to.equal((await stat(path.join(FACE_API, 'model', 'ssd_mobilenetv1_model.bin'))).size);
  });

  it('dequantizes the first weight from the first bytes of the shard', async () => {
    const weights = await loadWeights(FACE_WEIGHTS);
    const [first] = (JSON.parse(await readFile(path.join(FACE_API, MANIFEST), 'utf8')) as ManifestGroup[])[0].weights;
    const bin = await readFile(path.join(FACE_API, 'model', 'ssd_mobilenetv1_model.bin'));
    const { scale, min } = first.quantization as { scale: number; min: number };
    const data = weights.get(first.name)!.data;
    for (const i of [0, 1, 100, data.length - 1]) expect(data[i], `${first.name}[${i}]`).to.equal(Math.fround(bin[i] * scale + min));
  });

  it('a missing shard: E_WEIGHTS naming the file, with a hint and the cause', async () => {
    const manifest = path.join(dir, 'manifest.json');
    await copyFile(path.join(FACE_API, MANIFEST), manifest); // the .bin is not copied
    const err = await rejection(loadTfjsManifest(manifest));
    expect(err.code).to.equal('E_WEIGHTS');
    expect(err.message).to.include(`cannot read weights shard ${path.join(dir, 'ssd_mobilenetv1_model.bin')}`);
    expect(err.hint).to.match(/reinstall the weights package/);
    expect((err.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  it('a missing or unparsable manifest: E_WEIGHTS naming it', async () => {
    const missing = await rejection(loadTfjsManifest(path.join(dir, 'nope.json')));
    expect(missing.code).to.equal('E_WEIGHTS');
    expect(missing.message).to.include(`cannot read weights manifest ${path.join(dir, 'nope.json')}`);
    expect(missing.hint).to.match(/weights\.manifest/);
    const notJson = await rejection(loadWeights({ format: 'tfjs-manifest', manifest: 'model/ssd_mobilenetv1_model.bin' }, FACE_API));
    expect(notJson.message).to.match(/^cannot read weights manifest .*ssd_mobilenetv1_model\.bin: /);
    expect(notJson.cause).to.be.instanceOf(SyntaxError);
  });

  // Issue 10, "one error path": valid JSON that is not an array of {paths, weights} groups is a
  // ModelError, not a TypeError ("groups is not iterable", "reading 'map'").
  it('a manifest of the wrong shape: E_WEIGHTS naming it, with a hint', async () => {
    for (const [name, text] of [['object.json', '{}'], ['no-paths.json', '[{"weights": []}]'], ['null.json', 'null'], ['bad-shape.json', '[{"paths": [], "weights": [{"name": "w", "shape": [-1], "dtype": "float32"}]}]']]) {
      const manifest = path.join(dir, name);
      await writeFile(manifest, text);
      const err = await rejection(loadTfjsManifest(manifest));
      expect(err.code, name).to.equal('E_WEIGHTS');
      expect(err.message, name).to.include(manifest);
      expect(err.message, name).to.match(/expected .*, received /);
      expect(err.hint, name).to.match(/weights manifest|weights\.manifest/);
    }
  });
});
