import { expect } from 'chai';
import {
  KALMAN_STATE_SIZE,
  KALMAN_STD_POSITION as WP,
  KALMAN_STD_VELOCITY as WV,
  kalmanBox,
  kalmanInit,
  kalmanPredict,
  kalmanUpdate,
} from '../../src/tracking/kalman-box.js';

type M = number[][];
const zeros = (r: number, c: number): M => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const eye = (n: number): M => zeros(n, n).map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
const mul = (a: M, b: M): M => a.map((row) => b[0].map((_, j) => row.reduce((acc, v, k) => acc + v * b[k][j], 0)));
const tr = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));
const add = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v + b[i][j]));
const sub = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v - b[i][j]));
const diag = (d: number[]): M => d.map((v, i) => d.map((_, j) => (i === j ? v : 0)));
function inv(a: M): M {
  // Gauss-Jordan with partial pivoting; only ever called on a 4x4 SPD matrix here.
  const n = a.length;
  const m = a.map((row, i) => [...row, ...eye(n)[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(n));
}

/** The textbook 8x8 filter, written independently of the block form under test. */
class DenseKalman {
  x: M = zeros(8, 1);
  P: M = zeros(8, 8);
  init(box: number[]): void {
    const [w, h] = [box[2] - box[0], box[3] - box[1]];
    this.x = [[box[0] + w / 2], [box[1] + h / 2], [w], [h], [0], [0], [0], [0]];
    const s = [w, h, w, h];
    this.P = diag([...s.map((v) => (2 * WP * v) ** 2), ...s.map((v) => (10 * WV * v) ** 2)]);
  }
  predict(dt: number): void {
    const s = [this.x[2][0], this.x[3][0], this.x[2][0], this.x[3][0]];
    const F = eye(8);
    for (let i = 0; i < 4; i++) F[i][i + 4] = dt;
    const Q = diag([...s.map((v) => (WP * v) ** 2 * dt), ...s.map((v) => (WV * v) ** 2 * dt)]);
    this.x = mul(F, this.x);
    this.P = add(mul(mul(F, this.P), tr(F)), Q);
  }
  update(box: number[]): void {
    const [w, h] = [box[2] - box[0], box[3] - box[1]];
    const z = [[box[0] + w / 2], [box[1] + h / 2], [w], [h]];
    const H = zeros(4, 8);
    for (let i = 0; i < 4; i++) H[i][i] = 1;
    const s = [this.x[2][0], this.x[3][0], this.x[2][0], this.x[3][0]];
    const R = diag(s.map((v) => (WP * v) ** 2));
    const S = add(mul(mul(H, this.P), tr(H)), R);
    const K = mul(mul(this.P, tr(H)), inv(S));
    this.x = add(this.x, mul(K, sub(z, mul(H, this.x))));
    this.P = mul(sub(eye(8), mul(K, H)), this.P);
  }
}

/** The block form's 8x8 covariance, expanded. */
function denseP(s: Float64Array): M {
  const P = zeros(8, 8);
  for (let i = 0; i < 4; i++) {
    const p = 8 + 3 * i;
    P[i][i] = s[p];
    P[i][i + 4] = P[i + 4][i] = s[p + 1];
    P[i + 4][i + 4] = s[p + 2];
  }
  return P;
}

describe('kalman-box', () => {
  it('matches hand-worked values for one predict and one update', () => {
    // Box [0.4, 0.4, 0.6, 0.6]: cx = cy = 0.5, w = h = 0.2, so wp*s = 0.01 and wv*s = 0.00125.
    // init:    Pxx = (2 * 0.01)^2 = 4e-4, Pvv = (10 * 0.00125)^2 = 1.5625e-4, Pxv = 0.
    // predict (dt = 1): Pxx = 4e-4 + 1.5625e-4 + 1e-4 = 6.5625e-4; Pxv = 1.5625e-4;
    //                   Pvv = 1.5625e-4 + 0.00125^2 = 1.578125e-4.
    // update with the box shifted right by 0.01 (z_cx = 0.51), R = 0.01^2 = 1e-4:
    //   S = 7.5625e-4, Kx = 6.5625/7.5625 = 0.8677685950, Kv = 1.5625/7.5625 = 0.2066115702,
    //   cx = 0.5 + 0.01 Kx = 0.508677685950, vcx = 0.01 Kv = 0.002066115702,
    //   Pxx = (1 - Kx) 6.5625e-4 = 8.6776859504e-5.
    const s = new Float64Array(KALMAN_STATE_SIZE);
    kalmanInit(s, [0.4, 0.4, 0.6, 0.6]);
    expect(s[8]).to.be.closeTo(4e-4, 1e-15);
    expect(s[10]).to.be.closeTo(1.5625e-4, 1e-15);
    kalmanPredict(s, 1);
    expect(s[8]).to.be.closeTo(6.5625e-4, 1e-15);
    expect(s[9]).to.be.closeTo(1.5625e-4, 1e-15);
    expect(s[10]).to.be.closeTo(1.578125e-4, 1e-15);
    kalmanUpdate(s, [0.41, 0.4, 0.61, 0.6]);
    expect(s[0]).to.be.closeTo(0.50867768595, 1e-10);
    expect(s[4]).to.be.closeTo(0.002066115702, 1e-11);
    expect(s[8]).to.be.closeTo(8.6776859504e-5, 1e-14);
    expect(s[1]).to.be.closeTo(0.5, 1e-15); // y saw no innovation
    expect(s[5]).to.equal(0);
  });

  it('agrees with the dense 8x8 filter over a long run with uneven steps', () => {
    const s = new Float64Array(KALMAN_STATE_SIZE);
    const ref = new DenseKalman();
    const start = [0.1, 0.2, 0.25, 0.5];
    kalmanInit(s, start);
    ref.init(start);
    const dts = [1, 1, 2.5, 0.5, 1, 3, 1, 1, 0, 1];
    for (let k = 0; k < dts.length; k++) {
      kalmanPredict(s, dts[k]);
      ref.predict(dts[k]);
      const t = k + 1;
      // A box moving right and growing, measured with a little deterministic wobble.
      const box = [0.1 + 0.01 * t + 0.002 * Math.sin(t), 0.2 + 0.003 * t, 0.25 + 0.012 * t, 0.5 + 0.004 * t + 0.001 * Math.cos(t)];
      if (k !== 4) {
        kalmanUpdate(s, box);
        ref.update(box);
      }
      for (let i = 0; i < 8; i++) expect(s[i], `x[${i}] at step ${k}`).to.be.closeTo(ref.x[i][0], 1e-12);
      const P = denseP(s);
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) expect(P[i][j], `P[${i}][${j}] at step ${k}`).to.be.closeTo(ref.P[i][j], 1e-14);
      }
    }
  });

  it('learns a constant velocity and extrapolates it', () => {
    const s = new Float64Array(KALMAN_STATE_SIZE);
    kalmanInit(s, [0.1, 0.1, 0.2, 0.2]);
    for (let t = 1; t <= 30; t++) {
      kalmanPredict(s, 1);
      kalmanUpdate(s, [0.1 + 0.005 * t, 0.1, 0.2 + 0.005 * t, 0.2]);
    }
    expect(s[4]).to.be.closeTo(0.005, 2e-4);
    kalmanPredict(s, 4);
    const box = new Float64Array(4);
    kalmanBox(s, box);
    expect(box[0]).to.be.closeTo(0.1 + 0.005 * 34, 2e-3);
    expect(box[2] - box[0]).to.be.closeTo(0.1, 1e-3);
  });

  it('never lets a shrinking box reach zero size', () => {
    const s = new Float64Array(KALMAN_STATE_SIZE);
    kalmanInit(s, [0.5, 0.5, 0.52, 0.52]);
    s[6] = -0.01; // shrinking fast
    kalmanPredict(s, 10);
    expect(s[2]).to.be.greaterThan(0);
    expect(s[6]).to.equal(0);
  });
});
