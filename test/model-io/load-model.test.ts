import { expect } from 'chai';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../../src/errors.js';
import {
  DEFAULT_MODEL, listBundledModels, loadModel, MODELS_DIR, readDescriptor, resolveDescriptorPath, validateDescriptor,
} from '../../src/model-io/load-model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FACE_JSON = path.join(ROOT, 'models', 'face.json');

function thrown(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('model-io/load-model', function () {
  this.timeout(30_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-load-model-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('resolveDescriptorPath and listBundledModels', () => {
    it('lists the package\'s models/*.json by name, sorted', async () => {
      expect(MODELS_DIR).to.equal(path.join(ROOT, 'models'));
      const files = (await readdir(MODELS_DIR)).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
      expect(listBundledModels()).to.deep.equal(files);
      expect(listBundledModels()).to.include(DEFAULT_MODEL);
    });

    it('finds a bundled model by name and a descriptor by absolute or relative path', () => {
      expect(resolveDescriptorPath('face')).to.equal(FACE_JSON);
      expect(resolveDescriptorPath(FACE_JSON)).to.equal(FACE_JSON);
      expect(resolveDescriptorPath(path.relative(process.cwd(), FACE_JSON))).to.equal(FACE_JSON);
    });

    it('an unknown name: E_MODEL naming it, with the bundled models in the hint', () => {
      const err = thrown(() => resolveDescriptorPath('no-such-model'));
      expect(err.code).to.equal('E_MODEL');
      expect(err.message).to.equal('model "no-such-model" not found (not a bundled model name nor a descriptor file)');
      expect(err.hint).to.include(`use a bundled model (${listBundledModels().join(', ')})`);
      // A path-like name is never looked up among the bundled models.
      expect(() => resolveDescriptorPath('../face')).to.throw(ModelError, /not found/);
    });
  });

  describe('readDescriptor', () => {
    it('reads the bundled face descriptor', () => {
      const d = readDescriptor(FACE_JSON);
      expect(d.name).to.equal('face');
      expect(d.input).to.include({ width: 512, height: 512, resize: 'letterbox' });
      expect(d.labels).to.deep.equal([null, 'face', null]);
    });

    it('a missing file: E_MODEL naming it, with the cause and a hint', () => {
      const file = path.join(dir, 'missing.json');
      const err = thrown(() => readDescriptor(file));
      expect(err.code).to.equal('E_MODEL');
      expect(err.message).to.match(new RegExp(`^cannot read model descriptor ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ENOENT`));
      expect((err.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
      expect(err.hint).to.match(/models\/face\.json/);
    });

    it('invalid JSON: E_MODEL naming the file, with the parser error as cause', async () => {
      const file = path.join(dir, 'broken.json');
      await writeFile(file, '{ "name": "broken", ');
      const err = thrown(() => readDescriptor(file));
      expect(err.code).to.equal('E_MODEL');
      expect(err.message).to.include(`cannot read model descriptor ${file}: `);
      expect(err.cause).to.be.instanceOf(SyntaxError);
    });

    it('a descriptor missing a field: E_MODEL naming the file, the field and what it must be', async () => {
      const face = readDescriptor(FACE_JSON);
      const cases: [unknown, string][] = [
        [null, 'the file must be a JSON object'],
        [{ ...face, name: 3 }, 'name must be a string'],
        [{ ...face, input: { ...face.input, width: 0 } }, 'input.width/height must be positive integers'],
        [{ ...face, input: { ...face.input, resize: 'crop' } }, 'input.resize must be "stretch" or "letterbox"'],
        [{ ...face, anchors: { type: 'yolo' } }, 'anchors.type must be "tf-multiple-grid", "caffe-prior-box" or "explicit"'],
        [{ ...face, labels: ['face'] }, 'labels must be an array of network.numClasses (3) entries'],
        [{ ...face, postprocess: undefined }, 'postprocess must be an object with scoreThreshold, iouThreshold, maxDetections'],
      ];
      for (const [raw, what] of cases) {
        const err = thrown(() => validateDescriptor(raw, 'x.json'));
        expect(err.message).to.equal(`model descriptor x.json: ${what}`);
        expect(err.code).to.equal('E_MODEL');
      }
      const file = path.join(dir, 'no-labels.json');
      await writeFile(file, JSON.stringify({ ...face, labels: undefined }));
      expect(() => readDescriptor(file)).to.throw(ModelError, `model descriptor ${file}: labels must be`);
    });
    it('fields of the wrong kind (found by test/fuzz): E_MODEL, not a TypeError from `in` or a primitive conversion', () => {
      const face = readDescriptor(FACE_JSON);
      const bare = Object.create(null) as object; // JSON.parse's {"__proto__": null} path makes such objects
      const cases: [unknown, string][] = [
        [{ ...face, network: 'mobilenet' }, 'network must be'],
        [{ ...face, input: { ...face.input, width: bare } }, 'input.width/height must be'],
        [{ ...face, network: { ...face.network, numClasses: bare }, labels: [] }, 'labels must be an array of network.numClasses (missing) entries'],
      ];
      for (const [raw, what] of cases) {
        const err = thrown(() => validateDescriptor(raw, 'x.json'));
        expect(err.code).to.equal('E_MODEL');
        expect(err.message).to.include(`model descriptor x.json: ${what}`);
      }
    });
  });

  it('loadModel by descriptor path: weights from its package, the lowered graph, and where it came from', async () => {
    const copy = path.join(dir, 'my-face.json');
    await copyFile(FACE_JSON, copy);
    const m = await loadModel(copy);
    expect(m.descriptorPath).to.equal(copy);
    expect(m.descriptor.name).to.equal('face');
    expect(m.weights.size).to.equal(151);
    expect(m.graph.numAnchors).to.equal(5118);
    expect(m.graph.layers).to.have.length(47);
  });
});
