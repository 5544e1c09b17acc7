import { expect } from 'chai';
import { reviveError, serializeError } from '../../src/engines/worker-protocol.js';
import {
  AbortedError, EngineError, exitCodeFor, FfmpegError, InputError, ModelError, OptionError, OutputError, SsdpipeError,
} from '../../src/errors.js';

/** What the other side of postMessage gets: serialized, structured-cloned, revived. */
function acrossWorker(err: unknown): Error {
  return reviveError(structuredClone(serializeError(err)));
}

describe('engines/worker-protocol', () => {
  it('serializes an error and its causes to plain data', () => {
    const err = new ModelError('E_WEIGHTS', 'weights do not match', { hint: 'reinstall', cause: new RangeError('offset out of bounds') });
    const s = serializeError(err);
    expect(s).to.deep.include({ name: 'ModelError', message: 'weights do not match', code: 'E_WEIGHTS', hint: 'reinstall' });
    expect(s.stack).to.equal(err.stack);
    expect(s.cause).to.deep.include({ name: 'RangeError', message: 'offset out of bounds' });
    expect(structuredClone(s)).to.deep.equal(s);
    expect(serializeError('a string was thrown')).to.deep.equal({ name: 'Error', message: 'a string was thrown' });
    expect(serializeError(new Error('no code'))).to.not.have.any.keys('code', 'hint', 'cause');
  });

  it('revives every ssdpipe error class as itself, with code, hint, message and stack', () => {
    const errors: SsdpipeError[] = [
      new SsdpipeError('E_INTERNAL', 'base'),
      new OptionError('--threads', 'an integer >= 1', 0, 'use a positive count'),
      new InputError('E_NO_FRAMES', 'no frames', { hint: 'check the file' }),
      new ModelError('E_MODEL', 'bad descriptor', { hint: 'compare with models/face.json' }),
      new EngineError('session failed', { hint: 'run ssdpipe doctor' }),
      new FfmpegError('ffmpeg failed', 'line 1\nthe reason'),
      new OutputError('cannot write', { hint: 'check the path' }),
      new AbortedError(),
    ];
    for (const original of errors) {
      const revived = acrossWorker(original) as SsdpipeError;
      expect(revived, original.name).to.be.instanceOf(original.constructor as new () => SsdpipeError);
      expect(revived, original.name).to.be.instanceOf(SsdpipeError);
      expect(revived.name).to.equal(original.name);
      expect(revived.message).to.equal(original.message);
      expect(revived.code).to.equal(original.code);
      expect(revived.hint).to.equal(original.hint);
      expect(revived.stack).to.equal(original.stack);
      expect(exitCodeFor(revived), `${original.name}: same exit code`).to.equal(exitCodeFor(original));
    }
    expect((acrossWorker(new FfmpegError('x', 'tail')) as FfmpegError).stderrTail).to.be.a('string');
  });

  it('keeps a chain of ssdpipe causes, each as its own class', () => {
    const inner = new InputError('E_INPUT_UNREADABLE', 'cannot decode', { hint: 'h1' });
    const middle = new ModelError('E_MODEL', 'cannot prepare', { cause: inner });
    const revived = acrossWorker(new EngineError('run failed', { cause: middle })) as EngineError;
    expect(revived).to.be.instanceOf(EngineError);
    const c1 = revived.cause as ModelError;
    expect(c1).to.be.instanceOf(ModelError);
    expect(c1.message).to.equal('cannot prepare');
    const c2 = c1.cause as InputError;
    expect(c2).to.be.instanceOf(InputError);
    expect(c2).to.include({ code: 'E_INPUT_UNREADABLE', hint: 'h1', message: 'cannot decode' });
  });

  // Only the top-level error is wrapped: a ModelError caused by a plain Error (an ENOENT, a
  // RangeError) keeps that error as its cause, not an EngineError "engine worker failed: ...".
  it('keeps a plain Error cause as a plain Error with its message', () => {
    const revived = acrossWorker(new ModelError('E_WEIGHTS', 'cannot read', { cause: new RangeError('offset out of bounds') }));
    expect(revived).to.be.instanceOf(ModelError);
    const cause = revived.cause as Error;
    expect(cause).to.not.be.instanceOf(SsdpipeError);
    expect(cause.message).to.equal('offset out of bounds');
    expect(cause.name).to.equal('RangeError');
    expect(cause).to.be.instanceOf(RangeError);
    const deep = acrossWorker(new EngineError('run failed', { cause: new ModelError('E_WEIGHTS', 'x', { cause: new Error('ENOENT: no such file') }) }));
    const deepCause = (deep.cause as Error).cause as Error;
    expect(deepCause).to.not.be.instanceOf(SsdpipeError);
    expect(deepCause).to.include({ message: 'ENOENT: no such file', name: 'Error' });
  });

  it('turns an error of another kind into an EngineError with the original as its cause', () => {
    const original = new TypeError('cannot read properties of undefined');
    const revived = acrossWorker(original) as EngineError;
    expect(revived).to.be.instanceOf(EngineError);
    expect(revived.code).to.equal('E_ENGINE');
    expect(revived.message).to.equal('engine worker failed: cannot read properties of undefined');
    expect(revived.hint).to.match(/ssdpipe doctor/);
    const cause = revived.cause as Error;
    expect(cause).to.be.instanceOf(Error).and.not.instanceOf(SsdpipeError);
    expect(cause.name).to.equal('TypeError');
    expect(cause.message).to.equal('cannot read properties of undefined');
    expect(cause.stack).to.equal(original.stack);
    expect(acrossWorker('thrown text').message).to.equal('engine worker failed: thrown text');
  });

  it('stops following a cause chain that loops', () => {
    const loop = new EngineError('loop') as EngineError & { cause: unknown };
    Object.defineProperty(loop, 'cause', { value: loop });
    let depth = 0;
    for (let s = serializeError(loop); s.cause; s = s.cause) depth++;
    expect(depth).to.equal(8);
    expect(acrossWorker(loop)).to.be.instanceOf(EngineError);
  });
});
