import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SsdpipeError } from '../../src/errors.js';
import { validateDescriptor } from '../../src/model-io/load-model.js';
import { decodeManifestGroup, type ManifestGroup } from '../../src/model/weights.js';
import { parsePipelineSpec } from '../../src/pipeline/spec.js';
import { SeededRandom } from '../../src/seeded-random.js';
import { forCases, fuzzSeed, mutate, randomJson } from './fuzz.js';

// Random JSON and one-change mutations of valid files, into the pipeline-file parser, the
// model-descriptor validator and the weights decoder: each returns or throws an SsdpipeError
// (never a TypeError, a RangeError or a crash), and no call takes long.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PIPELINE = JSON.parse(readFileSync(path.join(ROOT, 'pipelines', 'people.json'), 'utf8')) as unknown;
const DESCRIPTOR = JSON.parse(readFileSync(path.join(ROOT, 'models', 'face.json'), 'utf8')) as unknown;
/** Longest one call may take: far above a normal call, far below a hang. */
const SLOW_MS = 250;

/** Calls f; anything thrown must be an SsdpipeError. Returns what was thrown, or null. */
function onlySsdpipeErrors(where: string, f: () => unknown): SsdpipeError | null {
  const t0 = performance.now();
  try {
    f();
    return null;
  } catch (err) {
    if (!(err instanceof SsdpipeError)) {
      throw new Error(`${where}: threw ${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}`);
    }
    expect(err.message, where).to.be.a('string').and.not.equal('');
    return err;
  } finally {
    expect(performance.now() - t0, `${where}: slow`).to.be.below(SLOW_MS);
  }
}

/** Up to 3 dims of 1..8; now and then one odd dim (at most 65536 x 8 x 8 floats: no memory bomb). */
function randomShape(r: SeededRandom): number[] {
  const shape = Array.from({ length: r.int(0, 3) }, () => r.int(1, 8));
  if (shape.length && r.chance(0.1)) shape[r.int(0, shape.length - 1)] = [-1, 0, 1.5, 65536, Number.NaN][r.int(0, 4)];
  return shape;
}

describe('fuzz: pipeline file, model descriptor and weights (random JSON)', function () {
  this.timeout(20_000);
  const seed = fuzzSeed();

  it(`parsePipelineSpec: an SsdpipeError naming the file, or a valid run (seed ${seed})`, async () => {
    const r = new SeededRandom(seed);
    let refused = 0;
    const cases = await forCases(1500, 300, (n) => {
      const raw = n % 3 === 0 ? randomJson(r) : mutate(r, r.chance(0.5) ? PIPELINE : mutate(r, PIPELINE));
      const err = onlySsdpipeErrors(`seed ${seed}, case ${n}: ${JSON.stringify(raw)?.slice(0, 300)}`, () => parsePipelineSpec(raw, '/tmp', 'fuzz.json'));
      if (err) {
        refused++;
        expect(err.code).to.equal('E_BAD_OPTION');
        expect(err.message, err.message).to.include('fuzz.json');
      }
    });
    expect(refused, 'most random files are refused').to.be.above(cases / 4);
    expect(() => parsePipelineSpec(PIPELINE, '/tmp', 'people.json'), 'the valid file passes').to.not.throw();
  });

  it(`validateDescriptor: a ModelError or a descriptor (seed ${seed})`, async () => {
    const r = new SeededRandom(seed + 1);
    await forCases(1500, 300, (n) => {
      const raw = n % 3 === 0 ? randomJson(r) : mutate(r, r.chance(0.5) ? DESCRIPTOR : mutate(r, DESCRIPTOR));
      const err = onlySsdpipeErrors(`seed ${seed + 1}, case ${n}: ${JSON.stringify(raw)?.slice(0, 300)}`, () => validateDescriptor(raw, 'fuzz.json'));
      if (err) expect(err.code).to.equal('E_MODEL');
    });
    expect(() => validateDescriptor(DESCRIPTOR, 'face.json')).to.not.throw();
  });

  it(`decodeManifestGroup: random manifests and shards give E_WEIGHTS or weights (seed ${seed})`, async () => {
    const r = new SeededRandom(seed + 2);
    const dtypes = ['float32', 'int32', 'uint8', 'float16', 'string', 7];
    await forCases(1500, 300, (n) => {
      // Mostly well-formed manifests with random sizes, dtypes and quantization; some random JSON.
      const group = (n % 4 === 0
        ? randomJson(r)
        : {
            paths: ['x.bin'],
            weights: Array.from({ length: r.int(0, 4) }, (_, i) => ({
              name: `w${i}`,
              shape: randomShape(r),
              dtype: dtypes[r.int(0, 2)],
              ...(r.chance(0.3) ? { quantization: { dtype: dtypes[r.int(0, 5)], scale: r.uniform(-1, 1), min: r.uniform(-1, 1) } } : {}),
            })),
          }) as ManifestGroup;
      const buf = new Uint8Array(r.chance(0.3) ? r.int(0, 64) : r.int(0, 4096));
      for (let i = 0; i < buf.length; i++) buf[i] = r.int(0, 255);
      const err = onlySsdpipeErrors(`seed ${seed + 2}, case ${n}: ${JSON.stringify(group)?.slice(0, 300)} with ${buf.length} bytes`, () => decodeManifestGroup(group, buf, 'fuzz.json'));
      if (err) expect(err.code).to.equal('E_WEIGHTS');
    });
  });
});
