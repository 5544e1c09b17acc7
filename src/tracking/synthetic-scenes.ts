import type { Detection } from '../detection.js';
import { OptionError } from '../errors.js';
import { SeededRandom } from '../seeded-random.js';

/*
 * Synthetic tracking sequences with ground truth, for measuring the tracker (not the detector).
 *
 * Objects are boxes in normalized coordinates moving at constant speed with a random-walk
 * heading, bouncing off the frame edges; some are born later and some leave (their lifetime
 * ends), some pairs are set on crossing courses. Each has a depth: a nearer box hides part of a
 * farther one. The simulated detector then
 *   - misses an object whose visible fraction is under 0.35 (occluded by a nearer object), or
 *     hidden by scenery (random occlusion spells), or at random (missRate);
 *   - gives a low score (0.15..0.45, ByteTrack's second-stage range) when 0.35..0.7 is visible,
 *     a high one (0.55..0.95) otherwise;
 *   - adds Gaussian noise to each box edge (boxNoise x the box's width or height);
 *   - adds false positives (random boxes, mostly low scores), Poisson per frame;
 *   - for live sources, drops frames (dropRate): they vanish from the sequence, ptsMs jumps.
 * Ground truth holds every living object in every delivered frame, occluded or not (as in
 * MOTChallenge), so a tracker that cannot see through occlusions pays for them in misses.
 * Same options and seed, same sequence.
 */

/** Knobs of one kind of scene. Speeds in frame widths per second, sizes as a fraction of the frame. */
export interface SceneOptions {
  /** Frames simulated (before drops). */
  frames: number;
  fps: number;
  /** Objects present from the first frame. */
  objects: number;
  /** Objects born later (spread over the sequence). */
  arrivals: number;
  /** Extra pairs of objects on crossing courses (present from the start). */
  crossingPairs: number;
  /** Speed range, normalized units per second. */
  speed: readonly [number, number];
  /** Std of the heading's random walk, radians per sqrt(second). */
  turnStd: number;
  /** Box width range; height = width x aspect. */
  size: readonly [number, number];
  aspect: readonly [number, number];
  /** Lifetime range of an object, in seconds. */
  lifetimeS: readonly [number, number];
  /** Chance a visible object is not detected. */
  missRate: number;
  /** Std of each detected edge, as a fraction of the box's width (x) or height (y). */
  boxNoise: number;
  /** Mean false positives per frame. */
  falsePositives: number;
  /** Chance per object per second of a spell behind scenery. */
  occlusionRate: number;
  /** Length range of such a spell, in ms. */
  occlusionMs: readonly [number, number];
  /** Chance a frame is dropped (a live source that cannot keep up). */
  dropRate: number;
  /** Number of classes (objects and false positives draw one at random). */
  classes: number;
}

/** Presets from easy to hard; `dense` is 100 objects per frame, for timing. */
export const SCENE_PRESETS = {
  /** Few slow, well-separated objects, one crossing, rare misses and false positives. */
  easy: {
    frames: 300,
    fps: 30,
    objects: 5,
    arrivals: 2,
    crossingPairs: 1,
    speed: [0.03, 0.12],
    turnStd: 0.3,
    size: [0.06, 0.12],
    aspect: [1, 1.6],
    lifetimeS: [6, 20],
    missRate: 0.03,
    boxNoise: 0.03,
    falsePositives: 0.1,
    occlusionRate: 0.02,
    occlusionMs: [100, 300],
    dropRate: 0,
    classes: 1,
  },
  /** Many faster objects of two classes, crossings, occlusions, noisy boxes, clutter. */
  crowded: {
    frames: 300,
    fps: 30,
    objects: 12,
    arrivals: 6,
    crossingPairs: 3,
    speed: [0.05, 0.25],
    turnStd: 0.6,
    size: [0.05, 0.12],
    aspect: [1, 2],
    lifetimeS: [4, 12],
    missRate: 0.08,
    boxNoise: 0.05,
    falsePositives: 0.6,
    occlusionRate: 0.1,
    occlusionMs: [200, 800],
    dropRate: 0,
    classes: 2,
  },
  /** A live source: moderate crowd, a third of the frames dropped at random. */
  live: {
    frames: 450,
    fps: 30,
    objects: 8,
    arrivals: 4,
    crossingPairs: 2,
    speed: [0.05, 0.2],
    turnStd: 0.5,
    size: [0.05, 0.12],
    aspect: [1, 2],
    lifetimeS: [4, 12],
    missRate: 0.05,
    boxNoise: 0.04,
    falsePositives: 0.3,
    occlusionRate: 0.05,
    occlusionMs: [200, 600],
    dropRate: 0.33,
    classes: 2,
  },
  /** 100 small objects per frame, for the cost per frame. */
  dense: {
    frames: 300,
    fps: 30,
    objects: 100,
    arrivals: 0,
    crossingPairs: 0,
    speed: [0.02, 0.1],
    turnStd: 0.3,
    size: [0.02, 0.05],
    aspect: [1, 1.5],
    lifetimeS: [100, 100],
    missRate: 0.03,
    boxNoise: 0.03,
    falsePositives: 1,
    occlusionRate: 0.02,
    occlusionMs: [100, 300],
    dropRate: 0,
    classes: 2,
  },
} as const satisfies Record<string, SceneOptions>;

/** Name of a preset in SCENE_PRESETS. */
export type ScenePreset = keyof typeof SCENE_PRESETS;

/** One ground-truth object in a frame. */
export interface TruthObject {
  readonly id: number;
  readonly classId: number;
  /** Normalized [x1, y1, x2, y2]. */
  readonly box: readonly [number, number, number, number];
  /** Fraction not covered by nearer objects (scenery occlusion not counted). */
  readonly visibility: number;
}

/** One delivered frame: what really is there, and what the simulated detector reported. */
export interface SyntheticFrame {
  readonly seq: number;
  readonly ptsMs: number;
  readonly truth: readonly TruthObject[];
  readonly detections: readonly Detection[];
}

/** A generated sequence. */
export interface SyntheticSequence {
  readonly name: string;
  readonly frames: readonly SyntheticFrame[];
}

/** Labels of the synthetic classes. */
export const SYNTHETIC_LABELS = ['person', 'car', 'dog', 'bicycle'];

interface SimObject {
  id: number;
  classId: number;
  birth: number;
  death: number;
  depth: number;
  x: number;
  y: number;
  w: number;
  h: number;
  speed: number;
  heading: number;
  turn: boolean;
  hiddenUntilMs: number;
}

/** Generates one sequence; deterministic in (options, seed). */
export function generateScene(options: SceneOptions, seed: number, name = `scene-${seed}`): SyntheticSequence {
  checkSceneOptions(options);
  const rnd = new SeededRandom(seed);
  const o = options;
  const dtS = 1 / o.fps;
  const objects = spawnObjects(o, rnd);
  const frames: SyntheticFrame[] = [];
  for (let seq = 0; seq < o.frames; seq++) {
    const ptsMs = (seq * 1000) / o.fps;
    const alive = objects.filter((b) => seq >= b.birth && seq < b.death);
    const truth = alive.map((b) => ({ id: b.id, classId: b.classId, box: clampBox([b.x, b.y, b.x + b.w, b.y + b.h]), visibility: visibility(b, alive) }));
    // Scenery occlusion spells start and end in time, whether or not the frame is delivered.
    for (const b of alive) if (ptsMs >= b.hiddenUntilMs && rnd.chance(o.occlusionRate * dtS)) b.hiddenUntilMs = ptsMs + rnd.uniform(o.occlusionMs[0], o.occlusionMs[1]);
    const detections = detect(o, rnd, alive, truth, ptsMs);
    if (seq === 0 || !rnd.chance(o.dropRate)) frames.push({ seq, ptsMs, truth, detections });
    for (const b of alive) move(b, o, rnd, dtS);
  }
  return { name, frames };
}

/** `count` sequences of a preset, seeds seed, seed + 1, ... */
export function generateSceneSet(preset: ScenePreset, count: number, seed = 1): SyntheticSequence[] {
  return Array.from({ length: count }, (_, k) => generateScene(SCENE_PRESETS[preset], seed + k, `${preset}-${seed + k}`));
}

function checkSceneOptions(o: SceneOptions): void {
  if (!Number.isInteger(o.frames) || o.frames < 1) throw new OptionError('frames', 'an integer >= 1', o.frames);
  if (!(o.fps > 0)) throw new OptionError('fps', 'a number > 0', o.fps);
  if (!Number.isInteger(o.classes) || o.classes < 1 || o.classes > SYNTHETIC_LABELS.length) {
    throw new OptionError('classes', `an integer in [1, ${SYNTHETIC_LABELS.length}]`, o.classes);
  }
  for (const [k, v] of [['missRate', o.missRate], ['dropRate', o.dropRate]] as const) {
    if (!(v >= 0 && v < 1)) throw new OptionError(k, 'a number in [0, 1)', v);
  }
}

function spawnObjects(o: SceneOptions, rnd: SeededRandom): SimObject[] {
  const objects: SimObject[] = [];
  const lifetimeFrames = (): number => Math.round(rnd.uniform(o.lifetimeS[0], o.lifetimeS[1]) * o.fps);
  const make = (birth: number, death: number): SimObject => {
    const w = rnd.uniform(o.size[0], o.size[1]);
    const h = Math.min(0.9, w * rnd.uniform(o.aspect[0], o.aspect[1]));
    return {
      id: objects.length + 1,
      classId: rnd.int(0, o.classes - 1),
      birth,
      death,
      depth: rnd.next(),
      x: rnd.uniform(0, 1 - w),
      y: rnd.uniform(0, 1 - h),
      w,
      h,
      speed: rnd.uniform(o.speed[0], o.speed[1]),
      heading: rnd.uniform(0, 2 * Math.PI),
      turn: true,
      hiddenUntilMs: -1,
    };
  };
  for (let k = 0; k < o.objects; k++) {
    // Some of the first objects leave early, others stay to the end.
    objects.push(make(0, Math.min(o.frames, lifetimeFrames())));
  }
  for (let k = 0; k < o.arrivals; k++) {
    const birth = rnd.int(1, Math.max(1, o.frames - o.fps));
    objects.push(make(birth, Math.min(o.frames, birth + lifetimeFrames())));
  }
  for (let k = 0; k < o.crossingPairs; k++) {
    // Two objects of one class on the same row, heading at each other; they meet mid-frame
    // around a third of the way through the sequence.
    const a = make(0, o.frames);
    const b = make(0, o.frames);
    b.classId = a.classId;
    const meetS = (o.frames / o.fps) * rnd.uniform(0.25, 0.45);
    const speed = Math.min(a.speed, 0.35 / meetS);
    const meetX = rnd.uniform(0.4, 0.6);
    a.y = rnd.uniform(0.1, 0.8 - a.h);
    b.y = a.y + rnd.uniform(-0.02, 0.02) + (a.h - b.h) / 2;
    a.x = meetX - speed * meetS - a.w / 2;
    b.x = meetX + speed * meetS - b.w / 2;
    a.speed = b.speed = speed;
    a.heading = 0;
    b.heading = Math.PI;
    a.turn = b.turn = false;
    b.id = a.id + 1;
    objects.push(a, b);
  }
  return objects;
}

function move(b: SimObject, o: SceneOptions, rnd: SeededRandom, dtS: number): void {
  if (b.turn) b.heading += rnd.normal(0, o.turnStd * Math.sqrt(dtS));
  b.x += Math.cos(b.heading) * b.speed * dtS;
  b.y += Math.sin(b.heading) * b.speed * dtS;
  // Bounce off the edges: the object stays whole in the frame.
  if (b.x < 0 || b.x + b.w > 1) {
    b.x = Math.min(Math.max(b.x, 0), 1 - b.w);
    b.heading = Math.PI - b.heading;
  }
  if (b.y < 0 || b.y + b.h > 1) {
    b.y = Math.min(Math.max(b.y, 0), 1 - b.h);
    b.heading = -b.heading;
  }
}

/** Fraction of b not covered by the nearer object that covers most of it. */
function visibility(b: SimObject, alive: readonly SimObject[]): number {
  let covered = 0;
  for (const c of alive) {
    if (c === b || c.depth >= b.depth) continue;
    const iw = Math.min(b.x + b.w, c.x + c.w) - Math.max(b.x, c.x);
    const ih = Math.min(b.y + b.h, c.y + c.h) - Math.max(b.y, c.y);
    if (iw > 0 && ih > 0) covered = Math.max(covered, (iw * ih) / (b.w * b.h));
  }
  return 1 - covered;
}

function detect(o: SceneOptions, rnd: SeededRandom, alive: readonly SimObject[], truth: readonly TruthObject[], ptsMs: number): Detection[] {
  const out: Detection[] = [];
  for (let k = 0; k < alive.length; k++) {
    const b = alive[k];
    const { visibility: vis } = truth[k];
    if (vis < 0.35 || ptsMs < b.hiddenUntilMs || rnd.chance(o.missRate)) continue;
    const score = vis < 0.7 ? rnd.uniform(0.15, 0.45) : rnd.uniform(0.55, 0.95);
    const nx = o.boxNoise * b.w;
    const ny = o.boxNoise * b.h;
    const box = clampBox([b.x + rnd.normal(0, nx), b.y + rnd.normal(0, ny), b.x + b.w + rnd.normal(0, nx), b.y + b.h + rnd.normal(0, ny)]);
    out.push({ classId: b.classId, label: SYNTHETIC_LABELS[b.classId], score, box, trackId: null });
  }
  const fps = rnd.poisson(o.falsePositives);
  for (let k = 0; k < fps; k++) {
    const w = rnd.uniform(o.size[0], o.size[1]);
    const h = w * rnd.uniform(o.aspect[0], o.aspect[1]);
    const x = rnd.uniform(0, 1 - w);
    const y = rnd.uniform(0, 1 - h);
    // Clutter scores mostly low, now and then high enough to start a track.
    const score = rnd.chance(0.2) ? rnd.uniform(0.5, 0.8) : rnd.uniform(0.1, 0.5);
    const classId = rnd.int(0, o.classes - 1);
    out.push({ classId, label: SYNTHETIC_LABELS[classId], score, box: clampBox([x, y, x + w, y + h]), trackId: null });
  }
  // A detector's output order says nothing about identity.
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function clampBox(b: number[]): [number, number, number, number] {
  const c = (v: number): number => Math.min(1, Math.max(0, v));
  const x1 = c(Math.min(b[0], b[2]));
  const x2 = c(Math.max(b[0], b[2]));
  const y1 = c(Math.min(b[1], b[3]));
  const y2 = c(Math.max(b[1], b[3]));
  return [x1, y1, x2, y2];
}
