import { expect } from 'chai';
import { mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelError } from '../../src/errors.js';
import { fileModelHandler } from '../../src/model-io/tfjs-file-handler.js';
import { buildCocoSsdGraphModel } from '../helpers/tfjs-graph-builder.js';

// The file:// IO handler alone: model.json and its shards read from disk as tfjs's ModelArtifacts.

/** A model.json with two groups: a and b in two shards, then c in one. */
function twoGroups(): { json: object; shards: Record<string, Uint8Array> } {
  const json = {
    format: 'graph-model',
    generatedBy: '2.x',
    convertedBy: 'test',
    signature: { inputs: {} },
    modelTopology: { node: [{ name: 'x', op: 'Placeholder' }] },
    weightsManifest: [
      { paths: ['g1-1.bin', 'g1-2.bin'], weights: [{ name: 'a', shape: [2, 3], dtype: 'float32' }, { name: 'b', shape: [4], dtype: 'int32' }] },
      { paths: ['g2.bin'], weights: [{ name: 'c', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }] },
    ],
  };
  const g1 = Uint8Array.from({ length: 40 }, (_, i) => i); // 24 + 16 bytes
  return { json, shards: { 'g1-1.bin': g1.subarray(0, 30), 'g1-2.bin': g1.subarray(30), 'g2.bin': Uint8Array.from([200, 201, 202, 203, 204]) } };
}

describe('model-io/tfjs-file-handler: a file:// IO handler for TF.js models', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-tfjs-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(json: object, shards: Record<string, Uint8Array>): Promise<string> {
    const file = path.join(dir, 'model.json');
    await writeFile(file, JSON.stringify(json));
    for (const [name, bytes] of Object.entries(shards)) await writeFile(path.join(dir, name), bytes);
    return file;
  }

  it('load() returns the topology, every group\'s weight specs in order, and the shards joined in that order', async () => {
    const { json, shards } = twoGroups();
    const artifacts = await fileModelHandler(await write(json, shards)).load!();
    expect(artifacts.modelTopology).to.deep.equal({ node: [{ name: 'x', op: 'Placeholder' }] });
    expect(artifacts).to.include({ format: 'graph-model', generatedBy: '2.x', convertedBy: 'test' });
    expect(artifacts.signature).to.deep.equal({ inputs: {} });
    expect(artifacts.weightSpecs!.map((w) => w.name)).to.deep.equal(['a', 'b', 'c']);
    expect(artifacts.weightSpecs![2]).to.deep.include({ dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } });
    const data = artifacts.weightData as ArrayBuffer;
    expect(data).to.be.instanceOf(ArrayBuffer);
    expect([...new Uint8Array(data)]).to.deep.equal([...Array.from({ length: 40 }, (_, i) => i), 200, 201, 202, 203, 204]);
  });

  it('the fixture graph model\'s shard comes back byte for byte', async () => {
    const { modelJson, shards } = buildCocoSsdGraphModel([{ box: [0, 0, 1, 1], scores: { 0: 0.5 } }], { anchors: 10, classes: 3 });
    const artifacts = await fileModelHandler(await write(modelJson, shards)).load!();
    const want = Object.values(shards)[0];
    expect(new Uint8Array(artifacts.weightData as ArrayBuffer)).to.deep.equal(want);
    expect(artifacts.weightSpecs!.find((w) => w.name === 'score_base')).to.deep.equal({ name: 'score_base', shape: [1, 1, 3], dtype: 'float32' });
  });

  it('a missing shard is a ModelError E_WEIGHTS naming the file, with a hint', async () => {
    const { json, shards } = twoGroups();
    const file = await write(json, shards);
    await unlink(path.join(dir, 'g1-2.bin'));
    const err = await fileModelHandler(file).load!().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ModelError).with.property('code', 'E_WEIGHTS');
    expect((err as ModelError).message).to.equal(`TF.js model ${file}: weight shard ${path.join(dir, 'g1-2.bin')} is missing`);
    expect((err as ModelError).hint).to.match(/next to it/);
  });

  it('a truncated shard is E_WEIGHTS saying how many bytes the group holds and needs', async () => {
    const { json, shards } = twoGroups();
    const file = await write(json, shards);
    await truncate(path.join(dir, 'g1-2.bin'), 4);
    const err = await fileModelHandler(file).load!().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ModelError).with.property('code', 'E_WEIGHTS');
    expect((err as ModelError).message).to.equal(`TF.js model ${file}: weight group 1 (g1-1.bin, g1-2.bin) holds 34 bytes, its weights need 40`);
  });

  it('a missing model.json, JSON without modelTopology, a bad manifest and a shard outside the folder are ModelErrors', async () => {
    const missing = await fileModelHandler(path.join(dir, 'nope.json')).load!().catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(ModelError).with.property('message', `TF.js model ${path.join(dir, 'nope.json')} not found`);

    const noTopology = await fileModelHandler(await write({ weightsManifest: [] }, {})).load!().catch((e: unknown) => e);
    expect(noTopology).to.be.instanceOf(ModelError).with.property('code', 'E_MODEL');

    const badManifest = await fileModelHandler(await write({ modelTopology: {}, weightsManifest: [{ paths: 'x' }] }, {})).load!().catch((e: unknown) => e);
    expect(badManifest).to.be.instanceOf(ModelError).with.property('code', 'E_WEIGHTS');

    const outside = await fileModelHandler(await write({ modelTopology: {}, weightsManifest: [{ paths: ['../x.bin'], weights: [] }] }, {})).load!().catch((e: unknown) => e);
    expect(outside).to.be.instanceOf(ModelError).with.property('message').that.matches(/weight shard "\.\.\/x\.bin" is outside the model's folder/);
  });
});
