import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SsdpipeError } from '../../src/errors.js';
import { loadPipelineSpec, parsePipelineSpec } from '../../src/pipeline/spec.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('pipeline spec', () => {
  it('loads the bundled pipelines, resolving paths against the file', () => {
    const { inputs, options } = loadPipelineSpec(path.join(ROOT, 'pipelines', 'people.json'));
    expect(inputs).to.deep.equal([path.join(ROOT, 'samples', 'people.mp4')]);
    expect(options).to.include({ model: 'face', batch: 4, maxWaitMs: 50, jsonl: path.join(ROOT, 'out', 'people.jsonl') });
    expect(loadPipelineSpec(path.join(ROOT, 'pipelines', 'photo-jsonl.json')).options.jsonl).to.equal('-');
  });

  it('resolves a descriptor path but keeps a bundled model name', () => {
    expect(parsePipelineSpec({ input: 'a.mp4', model: 'my/model.json' }, '/base').options.model).to.equal('/base/my/model.json');
    expect(parsePipelineSpec({ input: '/abs/a.mp4' }, '/base').inputs).to.deep.equal(['/abs/a.mp4']);
  });

  it('rejects unknown keys, missing input and bad outputs with option errors', () => {
    expect(() => parsePipelineSpec({ input: 'a', batchSize: 4 }, '/')).to.throw(SsdpipeError, /batchSize/);
    expect(() => parsePipelineSpec({ model: 'face' }, '/')).to.throw(SsdpipeError, /input/);
    expect(() => parsePipelineSpec({ input: 'a', outputs: { csv: 'x' } }, '/')).to.throw(SsdpipeError, /outputs\.csv/);
    expect(() => parsePipelineSpec([1], '/')).to.throw(SsdpipeError);
    expect(() => loadPipelineSpec(path.join(ROOT, 'nope.json'))).to.throw(SsdpipeError, /cannot read pipeline file/);
  });

  it('takes several named sources with their own outputs; URLs stay as written, files are relative to the file', () => {
    const { inputs, options } = parsePipelineSpec(
      {
        sources: [
          { name: 'door', input: 'rtsp://user:pw@10.0.0.9/stream1', outputs: { jsonl: 'door.jsonl', video: 'door.mp4' } },
          { input: 'clips/yard.mp4' },
        ],
        outputs: { jsonl: 'all.jsonl' },
        fps: 5,
      },
      '/base',
      'two.json',
    );
    expect(inputs).to.deep.equal([
      { name: 'door', input: 'rtsp://user:pw@10.0.0.9/stream1', outputs: { jsonl: '/base/door.jsonl', video: '/base/door.mp4' } },
      { input: '/base/clips/yard.mp4' },
    ]);
    expect(options).to.include({ jsonl: '/base/all.jsonl', fps: 5 });
    expect(() => parsePipelineSpec({ sources: [{ input: 'a', outputs: { stats: 'x' } }] }, '/', 'p.json')).to.throw(SsdpipeError, /sources\.0\.outputs\.stats in p\.json/);
    expect(() => parsePipelineSpec({ sources: [] }, '/', 'p.json')).to.throw(SsdpipeError, /sources in p\.json/);
  });

  it('every pipeline file shipped in pipelines/ is valid', () => {
    for (const f of readdirSync(path.join(ROOT, 'pipelines'))) expect(() => loadPipelineSpec(path.join(ROOT, 'pipelines', f)), f).to.not.throw();
  });
});
