import { expect } from 'chai';
import {
  AbortedError, EngineError, EXIT_DECODE, EXIT_ENGINE, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_MODEL, EXIT_OUTPUT, EXIT_RUNTIME,
  EXIT_TERMINATED, EXIT_USAGE, exitCodeFor, exitCodeForSignal, FfmpegError, formatCauseChain, InputError, lastLine,
  ModelError, OptionError, OutputError, SsdpipeError, toSsdpipeError,
} from '../src/errors.js';

describe('errors', () => {
  it('each class has its stable code and its own name, and is an SsdpipeError', () => {
    const cases: [SsdpipeError, string, string][] = [
      [new OptionError('--x', 'a', 1), 'E_BAD_OPTION', 'OptionError'],
      [new InputError('E_INPUT_NOT_FOUND', 'no file'), 'E_INPUT_NOT_FOUND', 'InputError'],
      [new ModelError('E_WEIGHTS', 'bad weights'), 'E_WEIGHTS', 'ModelError'],
      [new EngineError('engine broke'), 'E_ENGINE', 'EngineError'],
      [new FfmpegError('ffmpeg failed'), 'E_FFMPEG', 'FfmpegError'],
      [new OutputError('cannot write'), 'E_OUTPUT', 'OutputError'],
      [new AbortedError(), 'E_ABORTED', 'AbortedError'],
    ];
    for (const [err, code, name] of cases) {
      expect(err, name).to.be.instanceOf(SsdpipeError).and.instanceOf(Error);
      expect(err.code, name).to.equal(code);
      expect(err.name, name).to.equal(name);
      expect(String(err), name).to.match(new RegExp(`^${name}: `));
    }
    expect(new AbortedError().message).to.equal('the run was aborted');
    expect(new AbortedError('stopped by SIGINT').message).to.equal('stopped by SIGINT');
  });

  it('keeps the hint and the cause; no cause property when none was given', () => {
    const cause = new Error('ENOENT');
    const e = new EngineError('cannot load', { hint: 'run npm ci', cause });
    expect(e.hint).to.equal('run npm ci');
    expect(e.cause).to.equal(cause);
    const bare = new OutputError('cannot write');
    expect(bare.hint).to.equal(undefined);
    expect('cause' in bare).to.equal(false);
    expect(new ModelError('E_MODEL', 'x', { cause: 0 }).cause, 'a falsy cause is still a cause').to.equal(0);
  });

  it('FfmpegError puts the last line of stderr in the message and keeps the whole tail', () => {
    const tail = 'ffmpeg version 6\n  built with gcc\r\n[in#0] Invalid data found when processing input\n\n';
    const e = new FfmpegError('ffmpeg exited with code 1', tail);
    expect(e.message).to.equal('ffmpeg exited with code 1: [in#0] Invalid data found when processing input');
    expect(e.stderrTail).to.equal(tail);
    expect(new FfmpegError('ffmpeg was killed').message).to.equal('ffmpeg was killed');
  });

  it('lastLine: the last non-empty line, trimmed, whatever the line endings', () => {
    expect(lastLine('a\nb\n')).to.equal('b');
    expect(lastLine('first\r\n  second  \r\n\r\n   \n')).to.equal('second');
    expect(lastLine('only')).to.equal('only');
    expect(lastLine('')).to.equal('');
    expect(lastLine('\n \n')).to.equal('');
  });

  describe('OptionError', () => {
    it('says "option <name>: expected <what>, received <value>", values shown as JSON', () => {
      expect(new OptionError('--score', 'a number in [0, 1]', 1.5).message).to.equal('option --score: expected a number in [0, 1], received 1.5');
      expect(new OptionError('--engine', 'auto, onnx, tfjs', 'gpu').message).to.equal('option --engine: expected auto, onnx, tfjs, received "gpu"');
      expect(new OptionError('--batch', 'an integer >= 1', undefined).message).to.equal('option --batch: expected an integer >= 1, received undefined');
      expect(new OptionError('x', 'an object', { a: [1, 'b'] }).message).to.equal('option x: expected an object, received {"a":[1,"b"]}');
      expect(new OptionError('x', 'y', Number.NaN).message).to.equal('option x: expected y, received NaN');
      expect(new OptionError('x', 'y', null).message).to.equal('option x: expected y, received null');
    });

    it('shows values JSON cannot hold without failing', () => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      expect(new OptionError('x', 'y', circular).message).to.equal('option x: expected y, received [object Object]');
      expect(new OptionError('x', 'y', 10n).message).to.equal('option x: expected y, received 10');
      expect(new OptionError('x', 'y', () => 1).message).to.match(/^option x: expected y, received \(\) ?=> ?1$/); // its source text
    });

    it('carries the hint it is given', () => {
      expect(new OptionError('--jsonl', 'a path', '', 'give a file').hint).to.equal('give a file');
    });

    it('unknown(): "unknown option <name>; expected one of <known>", still an E_BAD_OPTION OptionError', () => {
      const e = OptionError.unknown('batchSize', ['model', 'batch', 'maxWaitMs']);
      expect(e).to.be.instanceOf(OptionError);
      expect(e.code).to.equal('E_BAD_OPTION');
      expect(e.message).to.equal('unknown option batchSize; expected one of model, batch, maxWaitMs');
      expect(String(e)).to.equal('OptionError: unknown option batchSize; expected one of model, batch, maxWaitMs');
      expect(exitCodeFor(e)).to.equal(EXIT_USAGE);
    });
  });

  it('exitCodeFor: the documented table (README, Exit codes), one code per class of failure', () => {
    expect([EXIT_RUNTIME, EXIT_USAGE, EXIT_INPUT, EXIT_DECODE, EXIT_MODEL, EXIT_OUTPUT, EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_TERMINATED])
      .to.deep.equal([1, 2, 3, 4, 5, 6, 7, 130, 143]);
    const table: [SsdpipeError, number][] = [
      [new OptionError('--x', 'y', 1), 2],
      [new InputError('E_INPUT_NOT_FOUND', 'x'), 3],
      [new InputError('E_INPUT_UNREADABLE', 'x'), 3],
      [new InputError('E_NO_FRAMES', 'x'), 4],
      [new FfmpegError('x', 'tail', { during: 'decoding' }), 4],
      [new ModelError('E_MODEL', 'x'), 5],
      [new ModelError('E_WEIGHTS', 'x'), 5],
      [new OutputError('x'), 6],
      [new EngineError('x'), 7],
      [new AbortedError(), 130],
      // ffmpeg failing while encoding or probing, or not starting, is none of the above.
      [new FfmpegError('x'), 1],
      [new FfmpegError('x', 'tail', { during: 'encoding' }), 1],
      [new FfmpegError('x', 'tail', { during: 'probing' }), 1],
      [new SsdpipeError('E_FFMPEG_NOT_FOUND', 'x'), 1],
      [new SsdpipeError('E_INTERNAL', 'x'), 1],
    ];
    for (const [e, code] of table) expect(exitCodeFor(e), `${e.code} ${(e as FfmpegError).during ?? ''}`).to.equal(code);
  });

  it('an abort exits 130 after SIGINT and 143 after SIGTERM; other errors keep their code', () => {
    expect(exitCodeForSignal('SIGINT')).to.equal(130);
    expect(exitCodeForSignal('SIGTERM')).to.equal(143);
    expect(exitCodeFor(new AbortedError(), 'SIGTERM')).to.equal(143);
    expect(exitCodeFor(new AbortedError(), 'SIGINT')).to.equal(130);
    expect(exitCodeFor(new OutputError('x'), 'SIGTERM')).to.equal(6);
  });

  it('formatCauseChain: the stack, each cause below it, hints and the ffmpeg stderr tail; stops at a cycle', () => {
    const root = new Error('ENOSPC: no space left on device, write');
    const ff = new FfmpegError('ffmpeg exited with code 1', 'frame=1\nav_interleaved_write_frame(): No space left on device\n', { cause: root });
    const top = new OutputError('writing video failed', { cause: ff, hint: 'free some space' });
    const text = formatCauseChain(top);
    expect(text).to.match(/^OutputError: writing video failed\n\s+at /);
    expect(text).to.include('  hint: free some space');
    expect(text).to.include('caused by: FfmpegError: ffmpeg exited with code 1: av_interleaved_write_frame(): No space left on device');
    expect(text).to.include('    frame=1\n    av_interleaved_write_frame(): No space left on device');
    expect(text).to.include('caused by: Error: ENOSPC: no space left on device, write');
    expect(text.indexOf('OutputError')).to.be.below(text.indexOf('FfmpegError')).and.below(text.indexOf('caused by: Error'));
    const a = new SsdpipeError('E_INTERNAL', 'a');
    const b = new SsdpipeError('E_INTERNAL', 'b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    expect(formatCauseChain(a).match(/caused by/g)).to.have.length(1);
    expect(formatCauseChain('plain')).to.equal('plain');
  });

  describe('toSsdpipeError', () => {
    it('returns an SsdpipeError as it is', () => {
      const e = new ModelError('E_MODEL', 'x');
      expect(toSsdpipeError(e)).to.equal(e);
    });

    it('wraps anything else as E_INTERNAL with its message, the original as cause and a bug-report hint', () => {
      const original = new TypeError('x is not a function');
      const e = toSsdpipeError(original);
      expect(e).to.be.instanceOf(SsdpipeError);
      expect(e.code).to.equal('E_INTERNAL');
      expect(e.message).to.equal('x is not a function');
      expect(e.cause).to.equal(original);
      expect(e.hint).to.match(/bug in ssdpipe/);
      expect(exitCodeFor(e)).to.equal(1);
      const fromString = toSsdpipeError('plain text');
      expect(fromString.message).to.equal('plain text');
      expect(fromString.cause).to.equal('plain text');
      expect(toSsdpipeError(undefined).message).to.equal('undefined');
    });
  });
});
