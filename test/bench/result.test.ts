import { expect } from 'chai';
import { benchRow } from '../../bench/result.js';

describe('benchRow', () => {
  it('turns frames and milliseconds into seconds (3 places) and fps (2 places)', () => {
    expect(benchRow('x', 750, 15_432.1)).to.deep.equal({ name: 'x', frames: 750, seconds: 15.432, fps: 48.6 });
    expect(benchRow('y', 3, 1000)).to.deep.equal({ name: 'y', frames: 3, seconds: 1, fps: 3 });
  });

  it('adds a note only when there is one', () => {
    expect(benchRow('x', 1, 1000, 'why')).to.have.property('note', 'why');
    expect(benchRow('x', 1, 1000, '')).not.to.have.property('note');
  });
});
