import { expect } from 'chai';
import { SeededRandom } from '../src/seeded-random.js';

describe('SeededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const take = (seed: number): number[] => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 5 }, () => r.next());
    };
    expect(take(42)).to.deep.equal(take(42));
    expect(take(42)).to.not.deep.equal(take(43));
  });

  it('draws within its ranges, with the right moments', () => {
    const r = new SeededRandom(1);
    const n = 20000;
    let sum = 0;
    let sq = 0;
    let poisson = 0;
    const ints = new Set<number>();
    for (let k = 0; k < n; k++) {
      const u = r.uniform(2, 3);
      expect(u >= 2 && u < 3).to.equal(true);
      ints.add(r.int(1, 3));
      const z = r.normal(5, 2);
      sum += z;
      sq += z * z;
      poisson += r.poisson(0.5);
    }
    expect([...ints].sort()).to.deep.equal([1, 2, 3]);
    const mean = sum / n;
    expect(mean).to.be.closeTo(5, 0.05);
    expect(Math.sqrt(sq / n - mean * mean)).to.be.closeTo(2, 0.05);
    expect(poisson / n).to.be.closeTo(0.5, 0.02);
  });
});
