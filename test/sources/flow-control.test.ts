import { expect } from 'chai';
import { DEFAULTS } from '../../src/config/schema.js';
import { FlowControl } from '../../src/sources/flow-control.js';

describe('FlowControl', () => {
  it('counts frames in flight and frames emitted; releasing never goes below zero', () => {
    const flow = new FlowControl(4);
    flow.emitted();
    flow.emitted(3);
    expect(flow.pending).to.equal(4);
    expect(flow.totalEmitted).to.equal(4);
    flow.release(2);
    expect(flow.pending).to.equal(2);
    flow.release(5); // a late release of dropped frames
    expect(flow.pending).to.equal(0);
    flow.emitted(2);
    expect(flow.pending).to.equal(2);
    expect(flow.totalEmitted, 'releases do not lower the emitted total').to.equal(6);
  });

  it('is saturated from highWater frames in flight, not before', () => {
    const flow = new FlowControl(3);
    const seen: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(flow.saturated);
      flow.emitted();
    }
    seen.push(flow.saturated);
    expect(seen).to.deep.equal([false, false, false, true, true]); // 0, 1, 2, 3, 4 in flight
    flow.release(2);
    expect(flow.saturated).to.equal(false);
  });

  it('lowWater defaults to half of highWater, rounded down', () => {
    expect(new FlowControl(8).lowWater).to.equal(4);
    expect(new FlowControl(5).lowWater).to.equal(2);
    expect(new FlowControl(1).lowWater).to.equal(0);
    expect(new FlowControl(8, 6).lowWater).to.equal(6);
  });

  // Issue 10: the public `new FlowControl()` must agree with the documented in-flight default.
  it('defaults highWater to DEFAULTS.maxInFlight', () => {
    expect(new FlowControl().highWater).to.equal(DEFAULTS.maxInFlight);
  });

  it('calls drain listeners once each time in-flight frames fall from above lowWater to lowWater', () => {
    const flow = new FlowControl(6, 2);
    let drains = 0;
    flow.onDrain(() => drains++);
    flow.emitted(6);
    flow.release(3); // 3 in flight: still above lowWater
    expect(drains).to.equal(0);
    flow.release(1); // 2: at lowWater
    expect(drains).to.equal(1);
    flow.release(1); // 1: already drained, no second call
    expect(drains).to.equal(1);
    flow.emitted(5); // 6 in flight
    flow.release(6); // straight to 0 in one release: one call
    expect(drains).to.equal(2);
    flow.release(1); // nothing in flight: no call
    expect(drains).to.equal(2);
  });

  it('calls every listener; an unsubscribed listener is not called again', () => {
    const flow = new FlowControl(2, 0);
    const calls: string[] = [];
    const offA = flow.onDrain(() => calls.push('a'));
    flow.onDrain(() => calls.push('b'));
    flow.emitted(2);
    flow.release(2);
    expect(calls).to.deep.equal(['a', 'b']);
    offA();
    flow.emitted(2);
    flow.release(2);
    expect(calls).to.deep.equal(['a', 'b', 'b']);
  });

  it('a listener may unsubscribe itself while being called without skipping the others', () => {
    const flow = new FlowControl(2, 0);
    const calls: string[] = [];
    const off = flow.onDrain(() => {
      calls.push('once');
      off();
    });
    flow.onDrain(() => calls.push('always'));
    flow.emitted(1);
    flow.release(1);
    flow.emitted(1);
    flow.release(1);
    expect(calls).to.deep.equal(['once', 'always', 'always']);
  });
});
