import { munkres } from 'munkres';

/*
 * Optimal assignment with forbidden pairs, over a row-major cost matrix [nRows, nCols].
 * A pair (i, j) is allowed when cost[i * nCols + j] is finite and <= maxCost.
 *
 * Objective, the one py-motmetrics and SORT use: the most allowed pairs first, then the
 * least total cost among assignments of that size (ByteTrack's lapjv with cost_limit
 * instead trades one fewer match against cost_limit; with IoU gating both nearly always
 * agree, and this one never leaves a gated-in track and detection apart to save cost).
 *
 * How: the allowed pairs form a bipartite graph; its connected components are independent
 * problems. A component with one row and one column is matched directly (by far the common
 * case in tracking: objects apart from each other); a larger one goes to the `munkres` package
 * (Kuhn-Munkres, O(n^3) on the component only) with forbidden pairs priced above any allowed
 * assignment. Scratch arrays are kept between calls: solving allocates only for components
 * larger than 1x1.
 */

/** A pair may be matched: finite (NaN and infinities are never allowed) and at most maxCost. */
function allowed(c: number, maxCost: number): boolean {
  return c <= maxCost && c !== Infinity && c !== -Infinity;
}

/** Reusable solver: keeps its scratch buffers between calls (one per tracker or evaluator). */
export class LinearAssignment {
  private parent = new Int32Array(0);
  private order = new Int32Array(0);
  private start = new Int32Array(0);
  private roots = new Int32Array(0);

  /**
   * Solves one problem; writes rowToCol[i] (column of row i, or -1) and colToRow[j] (row of
   * column j, or -1), both at least nRows / nCols long; returns the number of matched pairs.
   */
  solve(cost: ArrayLike<number>, nRows: number, nCols: number, maxCost: number, rowToCol: Int32Array, colToRow: Int32Array): number {
    rowToCol.fill(-1, 0, nRows);
    colToRow.fill(-1, 0, nCols);
    if (nRows === 0 || nCols === 0) return 0;
    const n = nRows + nCols;
    this.grow(n);
    const parent = this.parent;
    for (let v = 0; v < n; v++) parent[v] = v;
    let edges = 0;
    for (let i = 0; i < nRows; i++) {
      for (let j = 0; j < nCols; j++) {
        const c = cost[i * nCols + j];
        if (!allowed(c, maxCost)) continue;
        edges++;
        this.union(i, nRows + j);
      }
    }
    if (edges === 0) return 0;
    this.groupByComponent(n);
    let matches = 0;
    const { order, start } = this;
    for (let root = 0; root < n; root++) {
      const from = start[root];
      const to = start[root + 1];
      const size = to - from;
      if (size < 2) continue; // an isolated row or column stays unmatched
      if (size === 2) {
        // One row and one column joined by an edge: rows sort before columns.
        const i = order[from];
        const j = order[from + 1] - nRows;
        rowToCol[i] = j;
        colToRow[j] = i;
        matches++;
        continue;
      }
      matches += this.solveComponent(cost, nRows, nCols, maxCost, from, to, rowToCol, colToRow);
    }
    return matches;
  }

  private solveComponent(
    cost: ArrayLike<number>,
    nRows: number,
    nCols: number,
    maxCost: number,
    from: number,
    to: number,
    rowToCol: Int32Array,
    colToRow: Int32Array,
  ): number {
    const rows: number[] = [];
    const cols: number[] = [];
    for (let k = from; k < to; k++) {
      const v = this.order[k];
      if (v < nRows) rows.push(v);
      else cols.push(v - nRows);
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of rows) {
      for (const j of cols) {
        const c = cost[i * nCols + j];
        if (!allowed(c, maxCost)) continue;
        if (c < lo) lo = c;
        if (c > hi) hi = c;
      }
    }
    // Shifted costs of allowed pairs lie in [0, hi - lo]; any assignment has at most k pairs,
    // so a forbidden pair priced (hi - lo + 1) * (k + 1) costs more than all allowed ones together.
    const k = Math.min(rows.length, cols.length);
    const forbidden = (hi - lo + 1) * (k + 1);
    const sub = rows.map((i) => {
      const row = new Float64Array(cols.length);
      for (let b = 0; b < cols.length; b++) {
        const c = cost[i * nCols + cols[b]];
        row[b] = allowed(c, maxCost) ? c - lo : forbidden;
      }
      return row;
    });
    let matches = 0;
    for (const [a, b] of munkres(sub)) {
      if (sub[a][b] === forbidden) continue;
      rowToCol[rows[a]] = cols[b];
      colToRow[cols[b]] = rows[a];
      matches++;
    }
    return matches;
  }

  /** Counting sort of the vertices by component root: order[start[r] .. start[r + 1]) are r's vertices, ascending. */
  private groupByComponent(n: number): void {
    const { order, start, roots } = this;
    for (let v = 0; v < n; v++) roots[v] = this.find(v);
    start.fill(0, 0, n + 1);
    for (let v = 0; v < n; v++) start[roots[v] + 1]++;
    for (let r = 0; r < n; r++) start[r + 1] += start[r];
    // parent[] is done with (every root is known) and becomes each component's fill cursor.
    const cursor = this.parent;
    for (let r = 0; r < n; r++) cursor[r] = start[r];
    for (let v = 0; v < n; v++) order[cursor[roots[v]]++] = v;
  }

  private find(v: number): number {
    const parent = this.parent;
    while (parent[v] !== v) {
      parent[v] = parent[parent[v]];
      v = parent[v];
    }
    return v;
  }

  private union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  private grow(n: number): void {
    if (this.parent.length >= n) return;
    const size = Math.max(n, this.parent.length * 2);
    this.parent = new Int32Array(size);
    this.order = new Int32Array(size);
    this.start = new Int32Array(size + 1);
    this.roots = new Int32Array(size);
  }
}

/** One-off convenience over LinearAssignment: the matched [row, col] pairs, by row. */
export function solveAssignment(cost: ArrayLike<number>, nRows: number, nCols: number, maxCost: number): Array<[number, number]> {
  const rowToCol = new Int32Array(nRows);
  const colToRow = new Int32Array(nCols);
  new LinearAssignment().solve(cost, nRows, nCols, maxCost, rowToCol, colToRow);
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < nRows; i++) if (rowToCol[i] >= 0) pairs.push([i, rowToCol[i]]);
  return pairs;
}
