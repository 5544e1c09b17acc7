import { expect } from 'chai';
import { detectOptionsSchema, pipelineFileSchema, runOptionsSchema } from '../../src/config/schema.js';
import { checkOption, longFlag, parseOptions } from '../../src/config/validate.js';
import { OptionError } from '../../src/errors.js';

/** The OptionError message fn throws (fails the test when it throws nothing else). */
function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(OptionError);
    expect((err as OptionError).code).to.equal('E_BAD_OPTION');
    return (err as OptionError).message;
  }
  throw new Error('expected an OptionError');
}

/** detect()'s option names in schema order, as "expected one of" lists them. */
const DETECT_KEYS = Object.keys(detectOptionsSchema.shape).join(', ');

describe('config/validate', () => {
  describe('parseOptions, API options: errors name the CLI flag', () => {
    const table: [value: Record<string, unknown>, error: string][] = [
      [{ score: 2 }, 'option --score: expected a number in [0, 1], received 2'],
      [{ iou: -0.5 }, 'option --iou: expected a number in [0, 1], received -0.5'],
      [{ batch: 'many' }, 'option --batch: expected an integer >= 1 or auto, received "many"'],
      [{ batch: 0 }, 'option --batch: expected an integer >= 1 or auto, received 0'],
      [{ engine: 'gpu' }, 'option --engine: expected auto, onnx, tfjs, received "gpu"'],
      [{ maxDetections: 2.5 }, 'option --max-detections: expected an integer >= 1, received 2.5'],
      [{ maxWaitMs: -1 }, 'option --max-wait-ms: expected a number >= 0, received -1'],
      [{ softNms: 'yes' }, 'option --soft-nms: expected true or false, received "yes"'],
      [{ ffmpegPath: '' }, 'option --ffmpeg: expected a path to an ffmpeg binary, received ""'],
      // A bad entry inside a list or map option is reported as the option's.
      [{ classes: 'person,,car' }, 'option --classes: expected labels or class ids, e.g. person,car (a list in a pipeline file), received ""'],
      [{ classes: [] }, 'option --classes: expected labels or class ids, e.g. person,car (a list in a pipeline file), received []'],
      [{ classScores: 'person=1.5' }, 'option --class-scores: expected label=score pairs with scores in [0, 1], e.g. person=0.6,car=0.4 (an object in a pipeline file), received 1.5'],
      [{ classScores: 'person:0.5' }, 'option --class-scores: expected label=score pairs with scores in [0, 1], e.g. person=0.6,car=0.4 (an object in a pipeline file), received "person:0.5"'],
    ];
    for (const [value, error] of table) {
      it(`${JSON.stringify(value)} -> ${error}`, () => {
        expect(message(() => parseOptions(detectOptionsSchema, value))).to.equal(error);
      });
    }

    it('--classes and --class-scores as the CLI gives them (one string) and as a file or the API does', () => {
      expect(parseOptions(detectOptionsSchema, { classes: 'person, car,3', classScores: 'person=0.6, car=.4' })).to.deep.include({ classes: ['person', 'car', '3'], classScores: { person: 0.6, car: 0.4 } });
      expect(parseOptions(detectOptionsSchema, { classes: ['person', 3], classScores: { person: 0.6 } })).to.deep.include({ classes: ['person', 3], classScores: { person: 0.6 } });
      expect(message(() => parseOptions(pipelineFileSchema, { input: 'a', classScores: { person: 2 } }, { file: 'pipelines/x.json' }))).to.match(/^option classScores\.person in pipelines\/x\.json: expected label=score pairs .*, received 2$/);
    });

    it('run() outputs too', () => {
      expect(message(() => parseOptions(runOptionsSchema, { jsonl: '' }))).to.equal('option --jsonl: expected a file path or -, received ""');
    });

    it('an unknown key lists the known ones', () => {
      expect(message(() => parseOptions(detectOptionsSchema, { bogus: 1 }))).to.equal(`unknown option bogus; expected one of ${DETECT_KEYS}`);
      expect(message(() => parseOptions(detectOptionsSchema, { jsonl: 'x' })), 'an output is not a detect() option').to.match(/^unknown option jsonl;/);
    });

    it('options that are not an object', () => {
      expect(message(() => parseOptions(detectOptionsSchema, 'abc'))).to.equal('option options: expected a JSON object, received "abc"');
    });

    it('fills in the defaults, from nothing too, and invents no value for options without one', () => {
      const defaults = { model: 'face', softNms: false, engine: 'auto', backend: 'auto', batch: 'auto', maxWaitMs: 50 };
      for (const value of [undefined, {}]) {
        const r = parseOptions(detectOptionsSchema, value);
        expect(r, JSON.stringify(value)).to.deep.include(defaults);
        expect(r).to.not.have.any.keys('score', 'iou', 'maxDetections', 'threads', 'ffmpegPath');
      }
      expect(parseOptions(detectOptionsSchema, { batch: 4, score: 0.3, threads: 2 })).to.deep.include({ ...defaults, batch: 4, score: 0.3, threads: 2 });
    });
  });

  describe('parseOptions, pipeline files: errors name the file and the field path', () => {
    const style = { file: 'pipelines/x.json' };
    const table: [value: unknown, error: string][] = [
      [{ input: 'a', score: 2 }, 'option score in pipelines/x.json: expected a number in [0, 1], received 2'],
      [{ input: 'a', outputs: { jsonl: 3 } }, 'option outputs.jsonl in pipelines/x.json: expected a file path or -, received 3'],
      [{ input: 'a', outputs: { csv: 'x' } }, 'unknown option outputs.csv in pipelines/x.json; expected one of jsonl, video, stats, audio'],
      [{ sources: [{ input: 'a', outputs: { csv: 1 } }] }, 'unknown option sources.0.outputs.csv in pipelines/x.json; expected one of jsonl, video'],
      [{ sources: [{ input: 'a', nmae: 'x' }] }, 'unknown option sources.0.nmae in pipelines/x.json; expected one of name, input, outputs'],
      [{ input: 'a', batchSize: 4 }, `unknown option batchSize in pipelines/x.json; expected one of ${DETECT_KEYS}, $comment, input, sources, outputs`],
      [{ model: 'face' }, 'option input / sources in pipelines/x.json: expected exactly one of input or sources, received "neither"'],
      [{ input: 'a', sources: [{ input: 'b' }] }, 'option input / sources in pipelines/x.json: expected exactly one of input or sources, received "both"'],
      [[1], 'option pipelines/x.json: expected a JSON object, received [1]'],
    ];
    for (const [value, error] of table) {
      it(`${JSON.stringify(value)} -> ${error}`, () => {
        expect(message(() => parseOptions(pipelineFileSchema, value, style))).to.equal(error);
      });
    }

    // A field without CLI metadata (a pipeline source's `input` or `name`, the file's own
    // `input`) is worded from the zod issue, not with zod's raw text ("expected Too small: ...").
    it('a field without CLI metadata still reads "expected <what>, received <value>"', () => {
      const m = message(() => parseOptions(pipelineFileSchema, { sources: [{ input: 'a' }, { input: '' }] }, style));
      expect(m).to.match(/^option sources\.1\.input in pipelines\/x\.json: expected [^:]+, received ""$/);
      expect(m).to.not.match(/Too small|expected .*expected/);
      expect(m).to.equal('option sources.1.input in pipelines/x.json: expected a non-empty string, received ""');
      expect(message(() => parseOptions(pipelineFileSchema, { input: 3 }, style))).to.equal('option input in pipelines/x.json: expected a string, received 3');
    });

    it('fills in the defaults and keeps the file\'s own fields', () => {
      const r = parseOptions(pipelineFileSchema, { input: 'a.mp4', batch: 4, outputs: { jsonl: '-' } }, style);
      expect(r).to.deep.include({ model: 'face', softNms: false, engine: 'auto', backend: 'auto', batch: 4, maxWaitMs: 50, input: 'a.mp4', outputs: { jsonl: '-', audio: true } });
      expect(r).to.deep.equal(parseOptions(pipelineFileSchema, { ...parseOptions(detectOptionsSchema, { batch: 4 }), input: 'a.mp4', outputs: { jsonl: '-' } }, style));
    });
  });

  describe('checkOption', () => {
    it('returns a valid value as given', () => {
      expect(checkOption('threads', 4)).to.equal(4);
      expect(checkOption('engine', 'onnx')).to.equal('onnx');
      expect(checkOption('threads', undefined), 'optional').to.equal(undefined);
    });

    it('fails with the same flag name and words as parseOptions', () => {
      expect(message(() => checkOption('threads', 0))).to.equal('option --threads: expected an integer >= 1, received 0');
      expect(message(() => checkOption('threads', 1.5))).to.equal('option --threads: expected an integer >= 1, received 1.5');
      expect(message(() => checkOption('engine', 'gpu'))).to.equal(message(() => parseOptions(detectOptionsSchema, { engine: 'gpu' })));
      expect(message(() => checkOption('jsonl', ''))).to.equal('option --jsonl: expected a file path or -, received ""');
    });
  });

  it('longFlag keeps the flag and drops the value name', () => {
    expect(longFlag('--score <0..1>')).to.equal('--score');
    expect(longFlag('--class-agnostic')).to.equal('--class-agnostic');
  });
});
