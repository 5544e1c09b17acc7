import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import {
  BACKEND_CHOICES, DEFAULTS, detectOptionsSchema, ENGINE_CHOICES, optionMeta, outputFields, pipelineFileSchema, runOptionsSchema,
} from '../../src/config/schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Every option of run() (detect()'s and the outputs), whatever group it is declared in. */
const ALL_FIELDS: Record<string, z.ZodType> = runOptionsSchema.shape;
/** The pipeline-file fields that are not options. */
const FILE_ONLY = ['$comment', 'input', 'sources', 'outputs'];

describe('config/schema', () => {
  it('every option field has CLI metadata: a long flag, help text and what a valid value is', () => {
    expect(Object.keys(ALL_FIELDS)).to.have.length.above(10);
    for (const [key, schema] of Object.entries(ALL_FIELDS)) {
      const meta = optionMeta.get(schema);
      expect(meta, key).to.not.equal(undefined);
      expect(meta!.flag, key).to.match(/^--[a-z][a-z-]*( <[^>]+>)?$/);
      expect(meta!.description, key).to.be.a('string').and.not.equal('');
      expect(meta!.expected, key).to.be.a('string').and.not.equal('');
      if (meta!.short) expect(meta!.short, key).to.match(/^-[a-zA-Z]$/);
    }
  });

  it('boolean options are bare flags; every other option takes a value', () => {
    for (const [key, schema] of Object.entries(ALL_FIELDS)) {
      const takesBoolean = schema.safeParse(true).success;
      expect(optionMeta.get(schema)!.flag.includes('<'), key).to.equal(!takesBoolean);
    }
  });

  it('no two options share a flag or a short alias', () => {
    const metas = Object.values(ALL_FIELDS).map((s) => optionMeta.get(s)!);
    const flags = metas.map((m) => m.flag.split(' ')[0]);
    const shorts = metas.flatMap((m) => (m.short ? [m.short] : []));
    expect(new Set(flags).size).to.equal(flags.length);
    expect(new Set(shorts).size).to.equal(shorts.length);
  });

  it('run() takes detect()\'s options plus the outputs; a pipeline file takes every detect() option, same schema', () => {
    const detect = Object.keys(detectOptionsSchema.shape);
    expect(Object.keys(runOptionsSchema.shape).sort()).to.deep.equal([...detect, ...Object.keys(outputFields)].sort());
    const file: Record<string, z.ZodType> = pipelineFileSchema.shape;
    expect(Object.keys(file).sort()).to.deep.equal([...detect, ...FILE_ONLY].sort());
    for (const key of detect) expect(file[key], key).to.equal(detectOptionsSchema.shape[key as keyof typeof detectOptionsSchema.shape]);
  });

  it('the schema defaults are DEFAULTS, and the choices are the exported lists', () => {
    expect(detectOptionsSchema.parse({})).to.deep.include({
      model: DEFAULTS.model, engine: DEFAULTS.engine, backend: DEFAULTS.backend, batch: DEFAULTS.batch, maxWaitMs: DEFAULTS.maxWaitMs,
    });
    for (const e of ENGINE_CHOICES) expect(detectOptionsSchema.safeParse({ engine: e }).success, e).to.equal(true);
    for (const b of BACKEND_CHOICES) expect(detectOptionsSchema.safeParse({ backend: b }).success, b).to.equal(true);
    expect(detectOptionsSchema.safeParse({ engine: 'webgpu' }).success).to.equal(false);
  });

  it('validates the ready-to-run pipeline files in pipelines/', () => {
    const files = readdirSync(path.join(ROOT, 'pipelines')).filter((f) => f.endsWith('.json'));
    expect(files.length).to.be.at.least(2);
    for (const f of files) {
      const r = pipelineFileSchema.safeParse(JSON.parse(readFileSync(path.join(ROOT, 'pipelines', f), 'utf8')));
      expect(r.success, `${f}: ${r.success ? '' : JSON.stringify(r.error.issues)}`).to.equal(true);
    }
  });

  it('a pipeline file has exactly one of input or sources; each source may have its own outputs', () => {
    const ok = pipelineFileSchema.safeParse({
      sources: [{ name: 'door', input: 'door.mp4', outputs: { jsonl: 'door.jsonl' } }, { input: 'yard.mp4' }],
      outputs: { stats: 'all.json' },
    });
    expect(ok.success).to.equal(true);
    expect(pipelineFileSchema.safeParse({ input: 'a.mp4', sources: [{ input: 'b.mp4' }] }).success).to.equal(false);
    expect(pipelineFileSchema.safeParse({ model: 'face' }).success).to.equal(false);
    expect(pipelineFileSchema.safeParse({ sources: [] }).success, 'an empty source list').to.equal(false);
    expect(pipelineFileSchema.safeParse({ input: 'a.mp4', outputs: { csv: 'x' } }).success).to.equal(false);
  });
});
