import { expect } from 'chai';
import { median, round } from '../../bench/stats.js';

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([7])).to.equal(7);
  });

  it('does not reorder its argument', () => {
    const v = [3, 1, 2];
    median(v);
    expect(v).to.deep.equal([3, 1, 2]);
  });
});

describe('round', () => {
  it('rounds to the given number of decimal places', () => {
    expect(round(1.23456, 3)).to.equal(1.235);
    expect(round(49.995, 1)).to.equal(50);
    expect(round(0.1 + 0.2, 2)).to.equal(0.3);
  });
});
