import { expect } from 'chai';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { addSchemaFlags, readFlags, type FlagMap } from '../../src/cli/flags.js';
import { engineFields, modelFields, outputFields } from '../../src/config/schema.js';

/** A detect-like command with schema flags, that throws instead of exiting and prints nothing. */
function command(): { cmd: Command; flags: FlagMap } {
  const cmd = new Command('detect').argument('[input]').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const flags = addSchemaFlags(cmd, { ...modelFields, ...engineFields, ...outputFields });
  return { cmd, flags };
}

/** The API options a command line gives. */
function parse(...args: string[]): Record<string, unknown> {
  const { cmd, flags } = command();
  cmd.parse(args, { from: 'user' });
  return readFlags(cmd.opts(), flags);
}

const DEFAULTS = { model: 'face', engine: 'auto', backend: 'auto', batch: 'auto', maxWaitMs: 50, audio: true };

describe('cli/flags', () => {
  it('with no flags gives only the schema defaults (booleans that default to false stay unset)', () => {
    expect(parse('in.mp4')).to.deep.equal(DEFAULTS);
  });

  it('maps flags back to API option names and converts numbers', () => {
    expect(parse('in.mp4', '--score', '0.3', '--max-detections', '20', '--batch', '4', '--max-wait-ms', '12.5', '--threads', '2', '-m', 'my.json'))
      .to.deep.equal({ ...DEFAULTS, model: 'my.json', score: 0.3, maxDetections: 20, batch: 4, maxWaitMs: 12.5, threads: 2 });
    expect(parse('--iou', '.45').iou).to.equal(0.45);
    expect(parse('--threads', '1e1').threads).to.equal(10);
    expect(parse('--score', ' 0.5 ').score).to.equal(0.5);
  });

  it('leaves text that is not a number as text, for validation to reject with the flag name', () => {
    expect(parse('--score', 'high').score).to.equal('high');
    expect(parse('--batch', 'auto').batch).to.equal('auto');
    expect(parse('--threads', '0x10').threads).to.equal('0x10');
    expect(parse('--threads', '').threads).to.equal('');
    expect(parse('--jsonl', '42').jsonl, 'a string option is never converted').to.equal('42');
  });

  it('sets boolean flags to true', () => {
    expect(parse('--soft-nms', '--class-agnostic')).to.include({ softNms: true, classAgnostic: true });
  });

  it('a --no-<name> flag sets its option, true by default, to false', () => {
    expect(parse('in.mp4', '--no-audio')).to.deep.equal({ ...DEFAULTS, audio: false });
  });

  it('restricts enum options to their choices', () => {
    expect(parse('--engine', 'onnx', '--backend', 'wasm')).to.include({ engine: 'onnx', backend: 'wasm' });
    let err: unknown;
    try {
      parse('--engine', 'gpu');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(CommanderError);
    expect((err as CommanderError).code).to.equal('commander.invalidArgument');
    expect((err as CommanderError).message).to.match(/Allowed choices are auto, onnx, tfjs/);
  });

  it('shows the schema\'s help text, defaults and choices in --help', () => {
    const help = command().cmd.helpInformation().replace(/\s+/g, ' '); // unwrapped
    expect(help).to.include('-m, --model <name|path> bundled model name, model descriptor .json or .tflite SSD (default: "face")');
    expect(help).to.include('--max-wait-ms <ms> longest wait for a batch to fill (default: 50)');
    expect(help).to.include('--engine <engine> inference engine (choices: "auto", "onnx", "tfjs", default: "auto")');
    expect(help).to.include('--soft-nms Gaussian soft-NMS instead of hard NMS --engine');
    expect(help).to.include('--threads <n> engine threads (default: all cores) --batch');
  });

  it('refuses a field without CLI metadata, naming it', () => {
    expect(() => addSchemaFlags(new Command(), { undocumented: z.number() })).to.throw(/option undocumented has no CLI metadata/);
  });
});
