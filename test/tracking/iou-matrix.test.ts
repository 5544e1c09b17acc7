import { expect } from 'chai';
import { boxIou, iouMatrix } from '../../src/tracking/iou-matrix.js';

describe('iouMatrix', () => {
  it('computes golden IoUs', () => {
    // a0 = unit square at origin (area 1); b0 = same; b1 shifted by half (inter 0.5, union 1.5);
    // b2 disjoint; b3 inside a0 with area 0.25.
    const a = [0, 0, 1, 1, 2, 2, 3, 3];
    const b = [0, 0, 1, 1, 0.5, 0, 1.5, 1, 5, 5, 6, 6, 0.25, 0.25, 0.75, 0.75];
    const out = iouMatrix(a, 2, b, 4, new Float64Array(8));
    const expected = [1, 1 / 3, 0, 0.25, 0, 0, 0, 0];
    for (let k = 0; k < 8; k++) expect(out[k], `entry ${k}`).to.be.closeTo(expected[k], 1e-12);
  });

  it('is 0 for touching edges and for empty boxes', () => {
    expect(boxIou([0, 0, 1, 1], 0, [1, 0, 2, 1], 0)).to.equal(0);
    expect(boxIou([0, 0, 0, 0], 0, [0, 0, 0, 0], 0)).to.equal(0);
  });
});
