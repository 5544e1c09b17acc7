import { expect } from 'chai';
import { OptionError } from '../../src/errors.js';
import {
  backoffDelayMs,
  resolveReconnectOptions,
  seededRandom,
  SourceStateMachine,
  type StatusRecord,
} from '../../src/sources/reconnect-policy.js';

/** A clock that moves only when told: 2024-01-01T00:00:00Z plus t ms. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = Date.UTC(2024, 0, 1);
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** state@attempt, plus the delay for reconnecting: a compact view of a record sequence. */
function brief(records: StatusRecord[]): string[] {
  return records.map((r) => `${r.state}@${r.attempt}${r.delayMs === undefined ? '' : `+${r.delayMs}`}`);
}

describe('reconnect-policy', () => {
  describe('backoffDelayMs', () => {
    it('doubles from 1 s to a 30 s cap without jitter', () => {
      const o = resolveReconnectOptions({ jitter: 0 });
      expect([1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => backoffDelayMs(n, o)))
        .to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    });

    it('jitter only shortens, by up to 20 %: golden values with a fixed random', () => {
      const half = resolveReconnectOptions({ random: () => 0.5 });
      expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, half))).to.deep.equal([900, 1800, 3600, 7200, 14400, 27000, 27000]);
      const lowest = resolveReconnectOptions({ random: () => 0 });
      expect(backoffDelayMs(6, lowest)).to.equal(30000);
      const highest = resolveReconnectOptions({ random: () => 0.999999 });
      expect(backoffDelayMs(1, highest)).to.equal(800);
    });

    it('golden values with the seeded random (mulberry32, seed 42)', () => {
      const r = seededRandom(42);
      expect([r(), r(), r()]).to.deep.equal([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
      const o = resolveReconnectOptions({ random: seededRandom(42) });
      expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelayMs(n, o))).to.deep.equal([880, 1821, 3318, 6928, 15441, 26840, 28361, 26252]);
    });

    it('honours other settings and rejects bad attempts', () => {
      const o = resolveReconnectOptions({ initialMs: 50, maxMs: 300, factor: 3, jitter: 0 });
      expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, o))).to.deep.equal([50, 150, 300, 300]);
      expect(() => backoffDelayMs(0, o)).to.throw(RangeError);
    });
  });

  it('resolveReconnectOptions checks every option once', () => {
    expect(resolveReconnectOptions()).to.include({ initialMs: 1000, maxMs: 30000, factor: 2, jitter: 0.2, maxRetries: Infinity });
    expect(resolveReconnectOptions({ maxRetries: undefined }).maxRetries).to.equal(Infinity);
    expect(() => resolveReconnectOptions({ maxRetries: -1 })).to.throw(OptionError, /--max-retries/);
    expect(() => resolveReconnectOptions({ maxRetries: 1.5 })).to.throw(OptionError, /--max-retries/);
    expect(() => resolveReconnectOptions({ jitter: 2 })).to.throw(OptionError, /jitter/);
    expect(() => resolveReconnectOptions({ initialMs: 10, maxMs: 5 })).to.throw(OptionError, /maxMs/);
    expect(() => resolveReconnectOptions({ factor: 0.5 })).to.throw(OptionError, /factor/);
    expect(() => new SourceStateMachine('cam', { maxRetries: -2 })).to.throw(OptionError);
  });

  describe('SourceStateMachine', () => {
    it('connecting, streaming, and a full record with ISO time', () => {
      const clock = fakeClock();
      const m = new SourceStateMachine('cam1', { jitter: 0 }, clock.now);
      expect(m.start()).to.deep.equal([{ kind: 'status', source: 'cam1', state: 'connecting', time: '2024-01-01T00:00:00.000Z', attempt: 0, reason: null }]);
      clock.advance(1500);
      expect(m.frame()).to.deep.equal([{ kind: 'status', source: 'cam1', state: 'streaming', time: '2024-01-01T00:00:01.500Z', attempt: 0, reason: null }]);
      expect(m.frame(), 'later frames change nothing').to.deep.equal([]);
      const again = new SourceStateMachine('cam2', {}, clock.now);
      again.start();
      const media = { width: 640, height: 480, fps: 25, codec: 'h264' };
      expect(again.frame(media)[0]).to.include({ state: 'streaming' }).and.to.have.deep.property('media', media);
      expect(m.start(), 'start twice').to.deep.equal([]);
    });

    it('failures back off 1, 2, 4 s and a frame forgives them', () => {
      const m = new SourceStateMachine('cam', { jitter: 0 });
      const seq: StatusRecord[] = [...m.start()];
      let out = m.fail('connection refused');
      expect(out.retryInMs).to.equal(1000);
      seq.push(...out.records, ...m.retry());
      out = m.fail('connection refused');
      expect(out.retryInMs).to.equal(2000);
      seq.push(...out.records, ...m.retry());
      out = m.fail('connection refused');
      expect(out.retryInMs).to.equal(4000);
      seq.push(...out.records, ...m.retry(), ...m.frame());
      out = m.fail('stream ended');
      expect(out.retryInMs, 'back to 1 s after a frame').to.equal(1000);
      seq.push(...out.records);
      expect(brief(seq)).to.deep.equal([
        'connecting@0', 'reconnecting@1+1000', 'connecting@1', 'reconnecting@2+2000', 'connecting@2',
        'reconnecting@3+4000', 'connecting@3', 'streaming@3', 'reconnecting@1+1000',
      ]);
      expect(seq[1].reason).to.equal('connection refused');
    });

    it('a stall reports stalled, then reconnecting', () => {
      const m = new SourceStateMachine('cam', { jitter: 0 });
      m.start();
      m.frame();
      const out = m.stall('no frame for 10000 ms');
      expect(brief(out.records)).to.deep.equal(['stalled@0', 'reconnecting@1+1000']);
      expect(out.records.map((r) => r.reason)).to.deep.equal(['no frame for 10000 ms', 'no frame for 10000 ms']);
      expect(out.retryInMs).to.equal(1000);
    });

    it('goes offline after maxRetries consecutive failures, and stays there', () => {
      const m = new SourceStateMachine('cam', { jitter: 0, maxRetries: 2 });
      const seq: StatusRecord[] = [...m.start()];
      for (let i = 0; i < 3; i++) {
        const out = m.fail('refused');
        seq.push(...out.records, ...m.retry());
        if (i === 2) expect(out.retryInMs).to.equal(null);
      }
      expect(brief(seq)).to.deep.equal(['connecting@0', 'reconnecting@1+1000', 'connecting@1', 'reconnecting@2+2000', 'connecting@2', 'offline@2']);
      expect(m.done).to.equal(true);
      expect(m.fail('again').records).to.deep.equal([]);
      expect(m.end('stopped')).to.deep.equal([]);
    });

    it('maxRetries 0: the first failure is final', () => {
      const m = new SourceStateMachine('cam', { maxRetries: 0 });
      m.start();
      expect(brief(m.fail('refused').records)).to.deep.equal(['offline@0']);
    });

    it('ended is final, and ignores events that do not apply', () => {
      const m = new SourceStateMachine('cam');
      expect(m.end('stopped'), 'not started').to.deep.equal([]);
      m.start();
      expect(m.retry(), 'retry while connecting').to.deep.equal([]);
      expect(brief(m.end('stopped'))).to.deep.equal(['ended@0']);
      expect(m.frame()).to.deep.equal([]);
      expect(m.stall('x').records).to.deep.equal([]);
      expect(m.state).to.equal('ended');
    });
  });
});
