import { expect } from 'chai';
import { MessageChannel } from 'node:worker_threads';
import { BufferPool, bytePool, floatPool } from '../src/buffer-pool.js';

describe('BufferPool', () => {
  it('hands out new zeroed arrays of the asked length when it holds none', () => {
    const pool = floatPool();
    const a = pool.take(6);
    expect(a).to.be.instanceOf(Float32Array);
    expect(Array.from(a)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(pool.take(6)).to.not.equal(a);
  });

  it('reuses a returned array for the same length only, once', () => {
    const pool = bytePool();
    const a = pool.take(4);
    a.fill(7);
    pool.give(a);
    pool.give(a); // twice: still held once
    expect(pool.size).to.equal(1);
    expect(pool.take(5)).to.not.equal(a);
    const b = pool.take(4);
    expect(b).to.equal(a);
    expect(Array.from(b)).to.deep.equal([7, 7, 7, 7]); // old contents: callers overwrite
    expect(pool.take(4)).to.not.equal(a);
  });

  it('keeps at most `capacity` arrays per length', () => {
    const pool = new BufferPool((n) => new Uint8Array(n), 2);
    for (let i = 0; i < 5; i++) pool.give(new Uint8Array(8));
    pool.give(new Uint8Array(3));
    expect(pool.size).to.equal(3);
  });

  it('refuses views into bigger buffers and buffers transferred away', () => {
    const pool = bytePool();
    const big = new Uint8Array(16);
    pool.give(big.subarray(0, 8));
    pool.give(big.subarray(8));
    const moved = new Uint8Array(8);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(moved, [moved.buffer]);
    port1.close();
    port2.close();
    expect(moved.byteLength).to.equal(0);
    pool.give(moved);
    expect(pool.size).to.equal(0);
  });
});
