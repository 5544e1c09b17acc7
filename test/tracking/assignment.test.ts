import { expect } from 'chai';
import { LinearAssignment, solveAssignment } from '../../src/tracking/assignment.js';
import { SeededRandom } from '../../src/seeded-random.js';

/** Every partial matching over allowed pairs, best by (most pairs, then least cost). */
function bruteForce(cost: number[], nRows: number, nCols: number, maxCost: number): { pairs: number; total: number } {
  let best = { pairs: 0, total: 0 };
  const used = new Array<boolean>(nCols).fill(false);
  const visit = (i: number, pairs: number, total: number): void => {
    if (i === nRows) {
      if (pairs > best.pairs || (pairs === best.pairs && total < best.total - 1e-12)) best = { pairs, total };
      return;
    }
    visit(i + 1, pairs, total); // row i unmatched
    for (let j = 0; j < nCols; j++) {
      const c = cost[i * nCols + j];
      if (used[j] || !(c <= maxCost && Number.isFinite(c))) continue;
      used[j] = true;
      visit(i + 1, pairs + 1, total + c);
      used[j] = false;
    }
  };
  visit(0, 0, 0);
  return best;
}

describe('LinearAssignment', () => {
  it('solves a textbook 3x3 problem', () => {
    // Optimal: row 0 -> col 1 (1), row 1 -> col 0 (2), row 2 -> col 2 (2): total 5.
    const cost = [4, 1, 3, 2, 0, 5, 3, 2, 2];
    expect(solveAssignment(cost, 3, 3, Infinity)).to.deep.equal([
      [0, 1],
      [1, 0],
      [2, 2],
    ]);
  });

  it('prefers more allowed pairs over a lower total cost', () => {
    // Row 0 alone would take col 0 (cost 0.1), but then row 1 (allowed only on col 0) starves.
    const cost = [0.1, 0.4, 0.3, Infinity];
    expect(solveAssignment(cost, 2, 2, 0.5)).to.deep.equal([
      [0, 1],
      [1, 0],
    ]);
  });

  it('never returns a pair above maxCost, NaN or infinite', () => {
    expect(solveAssignment([0.9, NaN, Infinity, 0.2], 2, 2, 0.5)).to.deep.equal([[1, 1]]);
    expect(solveAssignment([], 0, 3, 1)).to.deep.equal([]);
  });

  it('agrees with brute force on 2000 random small problems', () => {
    const rnd = new SeededRandom(12);
    const solver = new LinearAssignment();
    const rowToCol = new Int32Array(8);
    const colToRow = new Int32Array(8);
    for (let t = 0; t < 2000; t++) {
      const nRows = rnd.int(1, 6);
      const nCols = rnd.int(1, 6);
      const density = rnd.uniform(0.1, 1);
      // Costs quantized to tenths so that ties happen; maxCost gates a share of them.
      const cost = Array.from({ length: nRows * nCols }, () => (rnd.chance(density) ? Math.round(rnd.uniform(0, 1) * 10) / 10 : Infinity));
      const maxCost = rnd.chance(0.5) ? 0.7 : Infinity;
      const want = bruteForce(cost, nRows, nCols, maxCost);
      const matches = solver.solve(cost, nRows, nCols, maxCost, rowToCol, colToRow);
      let total = 0;
      for (let i = 0; i < nRows; i++) {
        const j = rowToCol[i];
        if (j < 0) continue;
        expect(colToRow[j], `problem ${t}`).to.equal(i);
        expect(cost[i * nCols + j]).to.be.at.most(maxCost);
        total += cost[i * nCols + j];
      }
      expect(matches, `problem ${t} pairs`).to.equal(want.pairs);
      expect(total, `problem ${t} cost`).to.be.closeTo(want.total, 1e-9);
    }
  });

  it('reuses its buffers across problems of different sizes', () => {
    const solver = new LinearAssignment();
    const r = new Int32Array(4);
    const c = new Int32Array(4);
    expect(solver.solve([0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0], 4, 4, 0.5, r, c)).to.equal(3);
    expect(solver.solve([0.2], 1, 1, 0.5, r, c)).to.equal(1);
    expect(Array.from(r.subarray(0, 1))).to.deep.equal([0]);
  });
});
