import { expect } from 'chai';
import { runBenchmark } from '../../bench/benchmark.js';

describe('runBenchmark', () => {
  it('rejects a round count that is not a positive integer before doing any work', async () => {
    for (const rounds of [0, 1.5, -2]) {
      const err = await runBenchmark({ rounds, input: 'does-not-matter.mp4' }).then(() => null, (e: Error) => e);
      expect(err, String(rounds)).to.have.property('code', 'E_BAD_OPTION');
      expect(err!.message).to.match(/rounds/);
    }
  });
});
