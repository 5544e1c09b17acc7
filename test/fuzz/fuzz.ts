import { SeededRandom } from '../../src/seeded-random.js';

/**
 * Time-bounded fuzzing helpers: a seeded generator of random JSON and mutations of a valid value.
 * Each run prints nothing unless it fails; a failure names the seed and the case, so it can be
 * replayed with FUZZ_SEED=<seed>.
 */

/** The seed of this run: FUZZ_SEED, else a new one. */
export function fuzzSeed(): number {
  const env = Number(process.env.FUZZ_SEED);
  return Number.isInteger(env) ? env : Math.floor(Math.random() * 2 ** 31);
}

/** Runs `body` with case numbers 0, 1, ... until `ms` have passed (at least `minCases` cases). */
export async function forCases(ms: number, minCases: number, body: (n: number) => void | Promise<void>): Promise<number> {
  const end = performance.now() + ms;
  let n = 0;
  while (n < minCases || performance.now() < end) await body(n++);
  return n;
}

const KEYS = ['input', 'model', 'outputs', 'jsonl', 'video', 'stats', 'batch', 'name', 'shape', 'dtype', 'weights', 'network', 'anchors', 'x', '', '__proto__', 'constructor'];

/** A random JSON value up to `depth` levels deep. */
export function randomJson(r: SeededRandom, depth = 3): unknown {
  const kind = r.int(0, depth > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return [0, -1, 1, 0.5, 1e308, -1e-308, 2 ** 53, 4294967296, r.int(-1000, 1000), r.uniform(-1e6, 1e6)][r.int(0, 9)];
    case 3:
      return ['', 'a', 'face', '../x.mp4', '-', 'nope.json', '\u0000', 'é'.repeat(r.int(0, 5)), 'float32', 'uint8', 'x'.repeat(r.int(0, 300))][r.int(0, 10)];
    case 4:
      return r.int(0, 3) === 0 ? NaN : r.int(0, 9); // NaN is not JSON, but a caller may pass it
    case 5:
    case 6: {
      const out: Record<string, unknown> = {};
      for (let i = r.int(0, 5); i > 0; i--) out[KEYS[r.int(0, KEYS.length - 1)]] = randomJson(r, depth - 1);
      return out;
    }
    default:
      return Array.from({ length: r.int(0, 5) }, () => randomJson(r, depth - 1));
  }
}

/** A copy of `value` with one random change somewhere inside: a value replaced, a key removed or added. */
export function mutate(r: SeededRandom, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || r.chance(0.15)) return randomJson(r, 2);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0 || r.chance(0.1)) {
    (copy as Record<string, unknown>)[Array.isArray(copy) ? String(keys.length) : KEYS[r.int(0, KEYS.length - 1)]] = randomJson(r, 2);
    return copy;
  }
  const key = keys[r.int(0, keys.length - 1)];
  if (r.chance(0.1) && !Array.isArray(copy)) delete (copy as Record<string, unknown>)[key];
  else (copy as Record<string, unknown>)[key] = mutate(r, (copy as Record<string, unknown>)[key]);
  return copy;
}
