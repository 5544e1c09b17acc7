import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SsdpipeError } from '../../src/errors.js';
import { loadPipelineSpec, parsePipelineSpec } from '../../src/pipeline/spec.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('pipeline spec', () => {
  it('loads the bundled pipelines, resolving paths against the file', () => {
    const { input, options } = loadPipelineSpec(path.join(ROOT, 'pipelines', 'people.json'));
    expect(input).to.equal(path.join(ROOT, 'samples', 'people.mp4'));
    expect(options).to.include({ model: 'face', batch: 4, maxWaitMs: 50, jsonl: path.join(ROOT, 'out', 'people.jsonl') });
    expect(loadPipelineSpec(path.join(ROOT, 'pipelines', 'photo-jsonl.json')).options.jsonl).to.equal('-');
  });

  it('resolves a descriptor path but keeps a bundled model name', () => {
    expect(parsePipelineSpec({ input: 'a.mp4', model: 'my/model.json' }, '/base').options.model).to.equal('/base/my/model.json');
    expect(parsePipelineSpec({ input: '/abs/a.mp4' }, '/base').input).to.equal('/abs/a.mp4');
  });

  it('rejects unknown keys, missing input and bad outputs with option errors', () => {
    expect(() => parsePipelineSpec({ input: 'a', batchSize: 4 }, '/')).to.throw(SsdpipeError, /batchSize/);
    expect(() => parsePipelineSpec({ model: 'face' }, '/')).to.throw(SsdpipeError, /input/);
    expect(() => parsePipelineSpec({ input: 'a', outputs: { csv: 'x' } }, '/')).to.throw(SsdpipeError, /outputs\.csv/);
    expect(() => parsePipelineSpec([1], '/')).to.throw(SsdpipeError);
    expect(() => loadPipelineSpec(path.join(ROOT, 'nope.json'))).to.throw(SsdpipeError, /cannot read pipeline file/);
  });
});
