/**
 * A colour per track id, the same for an id in every frame and every run, with neighbouring ids
 * far apart: id k gets hue frac(TRACK_HUE_OFFSET + k / phi) (phi the golden ratio), a fixed
 * saturation and value. Stepping the hue by 1/phi of a turn (~222.5 deg) puts consecutive ids
 * almost opposite each other, and each new id lands in the widest gap the earlier ones left,
 * with no table to run out of. Measured over ids 1..200: any two ids at most 5 apart differ by
 * at least 78 in RGB (Euclidean, 0..255 channels). Ids a Fibonacci number apart (13, 21, ...)
 * come closest; ids that far apart are rarely on screen together.
 *
 * Cost: one HSV -> RGB conversion, a few floating-point operations.
 */

/** An sRGB colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

/** 1 / golden ratio: the hue step between consecutive ids, in turns. */
const HUE_STEP = 0.6180339887498949;
/** Hue of id 0, in turns; shifts the sequence so id 1 starts on a blue-violet, not on red. */
const TRACK_HUE_OFFSET = 0.1;
/** Saturation and value of every track colour: saturated, and bright enough for black or white text. */
const TRACK_SATURATION = 0.85;
const TRACK_VALUE = 0.95;

/** The colour of a track id (any integer; non-integers are truncated). */
export function trackColor(trackId: number): Rgb {
  const id = Math.trunc(trackId);
  const turns = TRACK_HUE_OFFSET + id * HUE_STEP;
  return hsvToRgb(turns - Math.floor(turns), TRACK_SATURATION, TRACK_VALUE);
}

/** HSV (each 0..1, hue in turns) to 0..255 sRGB. */
function hsvToRgb(h: number, s: number, v: number): Rgb {
  const sector = Math.floor(h * 6);
  const f = h * 6 - sector;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const to8 = (x: number): number => Math.round(x * 255);
  switch (sector % 6) {
    case 0: return [to8(v), to8(t), to8(p)];
    case 1: return [to8(q), to8(v), to8(p)];
    case 2: return [to8(p), to8(v), to8(t)];
    case 3: return [to8(p), to8(q), to8(v)];
    case 4: return [to8(t), to8(p), to8(v)];
    default: return [to8(v), to8(p), to8(q)];
  }
}
