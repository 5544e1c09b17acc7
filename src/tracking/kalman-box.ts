/*
 * Constant-velocity Kalman filter on one box, as in SORT / ByteTrack, with BoT-SORT's state
 * (cx, cy, w, h) rather than DeepSORT's (cx, cy, aspect, h) so that x noise scales with width
 * and y noise with height.
 *
 * State x = [cx, cy, w, h, vcx, vcy, vw, vh] (normalized units; velocities per step).
 * Transition F = [[I, dt I], [0, I]]; measurement H = [I, 0] (a detection's cx, cy, w, h).
 * Noise (all diagonal, std proportional to the box size s = w for x/w, h for y/h):
 *   initial P0:  pos (2 * wp * s)^2, vel (10 * wv * s)^2
 *   process Q:   pos (wp * s)^2 * dt, vel (wv * s)^2 * dt   (variance grows linearly in time)
 *   measurement R: (wp * s)^2
 * with wp = 1/20, wv = 1/160 (ByteTrack's std_weight_position / std_weight_velocity).
 *
 * Because F couples only x_i with v_i, H reads only x_i, and P0, Q, R are diagonal, the 8x8
 * covariance stays block diagonal: four independent 2x2 blocks [[var x_i, cov], [cov, var v_i]].
 * The filter therefore runs as four scalar Kalman filters: exactly the 8x8 result (the test
 * checks it against a dense 8x8 implementation), at 20 floats and ~60 flops per step.
 *
 * Storage: one Float64Array(KALMAN_STATE_SIZE) per track:
 *   [0..3] cx, cy, w, h   [4..7] velocities   [8 + 3i, 9 + 3i, 10 + 3i] = P block i (xx, xv, vv)
 */

/** Floats per filter in its Float64Array. */
export const KALMAN_STATE_SIZE = 20;

/** Std of position noise as a fraction of the box size (ByteTrack's 1/20). */
export const KALMAN_STD_POSITION = 1 / 20;

/** Std of velocity noise per step as a fraction of the box size (ByteTrack's 1/160). */
export const KALMAN_STD_VELOCITY = 1 / 160;

/** Smallest width or height the filter keeps (normalized), so a shrinking prediction never inverts. */
export const KALMAN_MIN_SIZE = 1e-4;

/** Starts a filter at box [x1, y1, x2, y2] with zero velocity. */
export function kalmanInit(s: Float64Array, box: ArrayLike<number>): void {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  s[0] = box[0] + w / 2;
  s[1] = box[1] + h / 2;
  s[2] = w;
  s[3] = h;
  s[4] = s[5] = s[6] = s[7] = 0;
  for (let i = 0; i < 4; i++) {
    const size = i % 2 === 0 ? w : h;
    const sp = 2 * KALMAN_STD_POSITION * size;
    const sv = 10 * KALMAN_STD_VELOCITY * size;
    const p = 8 + 3 * i;
    s[p] = sp * sp;
    s[p + 1] = 0;
    s[p + 2] = sv * sv;
  }
}

/** Advances the filter by dt steps (dt >= 0; fractional steps allowed): x = F x, P = F P F' + Q. */
export function kalmanPredict(s: Float64Array, dt: number): void {
  const w = s[2];
  const h = s[3];
  for (let i = 0; i < 4; i++) {
    const size = i % 2 === 0 ? w : h;
    const qp = KALMAN_STD_POSITION * size;
    const qv = KALMAN_STD_VELOCITY * size;
    const p = 8 + 3 * i;
    const pxx = s[p];
    const pxv = s[p + 1];
    const pvv = s[p + 2];
    s[i] += dt * s[i + 4];
    s[p] = pxx + 2 * dt * pxv + dt * dt * pvv + qp * qp * dt;
    s[p + 1] = pxv + dt * pvv;
    s[p + 2] = pvv + qv * qv * dt;
  }
  // A box shrinking at its velocity would reach zero or negative size: stop it at the floor.
  if (s[2] < KALMAN_MIN_SIZE) {
    s[2] = KALMAN_MIN_SIZE;
    s[6] = 0;
  }
  if (s[3] < KALMAN_MIN_SIZE) {
    s[3] = KALMAN_MIN_SIZE;
    s[7] = 0;
  }
}

/** Corrects the filter with a measured box [x1, y1, x2, y2]: K = P H' (H P H' + R)^-1, x += K (z - H x), P = (I - K H) P. */
export function kalmanUpdate(s: Float64Array, box: ArrayLike<number>): void {
  const mw = box[2] - box[0];
  const mh = box[3] - box[1];
  const w = s[2];
  const h = s[3];
  for (let i = 0; i < 4; i++) {
    const z = i === 0 ? box[0] + mw / 2 : i === 1 ? box[1] + mh / 2 : i === 2 ? mw : mh;
    // R comes from the predicted size, as in ByteTrack's project().
    const r = KALMAN_STD_POSITION * (i % 2 === 0 ? w : h);
    const p = 8 + 3 * i;
    const pxx = s[p];
    const pxv = s[p + 1];
    const pvv = s[p + 2];
    const innovationVar = pxx + r * r;
    const kx = pxx / innovationVar;
    const kv = pxv / innovationVar;
    const innovation = z - s[i];
    s[i] += kx * innovation;
    s[i + 4] += kv * innovation;
    s[p] = (1 - kx) * pxx;
    s[p + 1] = (1 - kx) * pxv;
    s[p + 2] = pvv - kv * pxv;
  }
}

/** Stops the size from changing while a track is lost (its size velocity is the least reliable part of a guess). */
export function kalmanFreezeSize(s: Float64Array): void {
  s[6] = 0;
  s[7] = 0;
}

/** Writes the filter's box [x1, y1, x2, y2] into out at offset. */
export function kalmanBox(s: Float64Array, out: Float64Array, offset = 0): void {
  const hw = s[2] / 2;
  const hh = s[3] / 2;
  out[offset] = s[0] - hw;
  out[offset + 1] = s[1] - hh;
  out[offset + 2] = s[0] + hw;
  out[offset + 3] = s[1] + hh;
}
