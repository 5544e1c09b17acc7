import { expect } from 'chai';
import { ModelError, OptionError } from '../../src/errors.js';
import { readDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { createPostprocessor, decodeDetections, resolveClassOptions, type DecodeOptions, type ModelDetection, type PostprocessContext } from '../../src/model/postprocess.js';

const logit = (p: number): number => Math.log(p / (1 - p));

// Three anchors [cy, cx, h, w]:
//   a0 centered 0.2x0.2 box  → corners x 0.4..0.6, y 0.4..0.6
//   a1 the same shifted right by 0.02 → x 0.42..0.62; IoU(a0, a1) = 0.036 / 0.044 = 9/11 = 0.818
//   a2 small box at (0.2, 0.2), 0.1x0.1, disjoint from both
const ANCHORS = new Float32Array([
  0.5, 0.5, 0.2, 0.2,
  0.5, 0.52, 0.2, 0.2,
  0.2, 0.2, 0.1, 0.1,
]);
const IOU01 = 9 / 11;

const ctx = (over: Partial<PostprocessContext> = {}): PostprocessContext => ({
  anchors: ANCHORS,
  numAnchors: 3,
  numClasses: 3,
  coder: { type: 'tf', scales: [10, 10, 5, 5] },
  scores: { activation: 'sigmoid', backgroundClass: 0 },
  labels: [null, 'cat', 'dog'],
  ...over,
});

// Batch of 2 frames. Frame 0: nothing but background. Frame 1 (sigmoid scores):
//   a0: bg 5, cat 0.9, dog sigmoid(-5)
//   a1: bg 0, cat 0.8, dog 0.5
//   a2: bg 0, cat sigmoid(-3), dog 0.7
// Encodings [2, 3, 4]: frame 1 a2 = (ty, tx, th, tw) = (1, -2, 5 ln 2, 0):
//   cy = 0.1 * 0.1 + 0.2 = 0.21, cx = -0.2 * 0.1 + 0.2 = 0.18, h = 2 * 0.1 = 0.2, w = 0.1
//   → [x1, y1, x2, y2] = [0.13, 0.11, 0.23, 0.31]; other anchors' encodings are 0 → the anchor's corners.
const ENC = new Float32Array([
  9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, // frame 0: garbage, never decoded (no candidates)
  0, 0, 0, 0, 0, 0, 0, 0, 1, -2, 5 * Math.LN2, 0,
]);
const LOGITS = new Float32Array([
  10, -10, -10, 10, -10, -10, 10, -10, -10,
  5, logit(0.9), -5, 0, logit(0.8), 0, 0, -3, logit(0.7),
]);

const BOX_A0: [number, number, number, number] = [0.4, 0.4, 0.6, 0.6];
const BOX_A1: [number, number, number, number] = [0.42, 0.4, 0.62, 0.6];
const BOX_A2: [number, number, number, number] = [0.13, 0.11, 0.23, 0.31];

function expectDetections(got: ModelDetection[], want: ModelDetection[]): void {
  expect(got.map((d) => [d.classId, d.label]), JSON.stringify(got)).to.deep.equal(want.map((d) => [d.classId, d.label]));
  got.forEach((d, i) => {
    expect(d.score, `score ${i}`).to.be.closeTo(want[i].score, 1e-6);
    d.box.forEach((v, k) => expect(v, `box ${i}[${k}]`).to.be.closeTo(want[i].box[k], 1e-6));
  });
}

const opts = (over: Partial<DecodeOptions> = {}): DecodeOptions => ({ scoreThreshold: 0.6, iouThreshold: 0.5, maxDetections: 100, ...over });

describe('decodeDetections', () => {
  it('decodes frame 1: per-class NMS, threshold, background and below-threshold columns skipped', () => {
    // cat: a0 0.9 kept, a1 0.8 suppressed by a0 (IoU 0.818); dog: a2 0.7 kept, a1 0.5 < 0.6
    expectDetections(decodeDetections(ENC, LOGITS, 1, ctx(), opts()), [
      { classId: 1, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
    ]);
  });

  it('frameIndex picks the frame: frame 0 has only background', () => {
    expect(decodeDetections(ENC, LOGITS, 0, ctx(), opts({ scoreThreshold: 0.01 }))).to.deep.equal([]);
  });

  it('per class vs class-agnostic NMS', () => {
    const perClass = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.4 }));
    expectDetections(perClass, [
      { classId: 1, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 2, label: 'dog', score: 0.5, box: BOX_A1 },
    ]);
    // class-agnostic: the cat on a0 suppresses the dog on a1
    const agnostic = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.4, classAgnostic: true }));
    expectDetections(agnostic, perClass.slice(0, 2));
  });

  it('null-label columns are never reported, even at threshold 0 with huge logits', () => {
    const labels = [null, 'cat', null];
    const dets = decodeDetections(ENC, LOGITS, 1, ctx({ labels }), opts({ scoreThreshold: 0, iouThreshold: 1 }));
    expect(dets.map((d) => d.classId)).to.deep.equal([1, 1, 1]);
    expect(dets.map((d) => d.label)).to.deep.equal(['cat', 'cat', 'cat']);
    // the background column is skipped even if it has a label
    const bgLabelled = decodeDetections(ENC, LOGITS, 1, ctx({ labels: ['background', 'cat', 'dog'] }), opts({ scoreThreshold: 0.6 }));
    expect(bgLabelled.map((d) => d.label)).to.deep.equal(['cat', 'dog']);
  });

  it('maxDetections caps the result; IoU 1 disables suppression', () => {
    const all = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0, iouThreshold: 1 }));
    expect(all.length).to.equal(6); // 3 anchors x 2 reported classes
    expect(all.map((d) => d.score)).to.deep.equal([...all.map((d) => d.score)].sort((a, b) => b - a));
    const two = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0, iouThreshold: 1, maxDetections: 2 }));
    expect(two.map((d) => d.score)).to.deep.equal(all.slice(0, 2).map((d) => d.score));
  });

  it('threshold is inclusive and agrees with the sigmoid of the logit', () => {
    // the dog score on a1 is exactly sigmoid(0) = 0.5
    const at = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.5, iouThreshold: 1 }));
    expect(at.some((d) => d.label === 'dog' && d.score === 0.5)).to.equal(true);
    const above = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.5000001, iouThreshold: 1 }));
    expect(above.some((d) => d.score === 0.5)).to.equal(false);
  });

  it('soft-NMS decays the overlapping cat on a1: 0.8 * exp(-(9/11)^2 / 0.5)', () => {
    const dets = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.2, iouThreshold: 1, nms: 'soft-gaussian', sigma: 0.5 }));
    expectDetections(dets, [
      { classId: 1, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 2, label: 'dog', score: 0.5, box: BOX_A1 },
      { classId: 1, label: 'cat', score: 0.8 * Math.exp(-(IOU01 * IOU01) / 0.5), box: BOX_A1 }, // 0.2097
    ]);
  });

  it('softmax over all columns, background included', () => {
    // frame 0 logits: a0 [0, ln 8, 0] → cat 0.8; a1 [0, 0, 0] → 1/3 each; a2 [0, 0, ln 3] → dog 0.6, cat 0.2
    const logits = new Float32Array([0, Math.log(8), 0, 0, 0, 0, 0, 0, Math.log(3)]);
    const enc = new Float32Array(12);
    const softmax = ctx({ scores: { activation: 'softmax', backgroundClass: 0 } });
    // cat: a0 0.8 kept, a1 1/3 suppressed by a0; dog: a2 0.6, a1 1/3 (disjoint from a2)
    expectDetections(decodeDetections(enc, logits, 0, softmax, opts({ scoreThreshold: 0.3 })), [
      { classId: 1, label: 'cat', score: 0.8, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.6, box: [0.15, 0.15, 0.25, 0.25] },
      { classId: 2, label: 'dog', score: 1 / 3, box: BOX_A1 },
    ]);
    expectDetections(decodeDetections(enc, logits, 0, softmax, opts({ scoreThreshold: 0.7 })), [{ classId: 1, label: 'cat', score: 0.8, box: BOX_A0 }]);
    expect(decodeDetections(enc, logits, 0, softmax, opts({ scoreThreshold: 0.81 }))).to.deep.equal([]);
    // a background-dominated anchor: bg logit 10, cat 0 → p(cat) = 1 / (1 + e^10 + 1) ~ 4.5e-5
    const bg = new Float32Array([10, 0, 0, 10, 0, 0, 10, 0, 0]);
    expect(decodeDetections(enc, bg, 0, softmax, opts({ scoreThreshold: 1e-4 }))).to.deep.equal([]);
    expect(decodeDetections(enc, bg, 0, softmax, opts({ scoreThreshold: 4e-5, iouThreshold: 1 }))).to.have.length(6);
  });

  it('rejects outputs whose size does not fit the anchors or the frame index', () => {
    expect(() => decodeDetections(ENC.subarray(0, 20), LOGITS, 0, ctx(), opts())).to.throw(ModelError, /box encodings/);
    expect(() => decodeDetections(ENC, LOGITS.subarray(0, 9), 1, ctx(), opts())).to.throw(ModelError, /class logits/);
    expect(() => decodeDetections(ENC, LOGITS, 2, ctx(), opts())).to.throw(ModelError, /frame 2/);
  });
});

describe('createPostprocessor', () => {
  const face = readDescriptor(resolveDescriptorPath('face'));
  const A = 5118;
  const C = 3;

  /** A batch of 2 face-model outputs: all background except one anchor per frame. */
  function fakeOutputs(hits: { frame: number; anchor: number; p: number }[]): { enc: Float32Array; logits: Float32Array } {
    const enc = new Float32Array(2 * A * 4); // [2, 5118, 4], zero: boxes are the anchors
    const logits = new Float32Array(2 * A * C).fill(-8); // [2, 5118, 3]
    for (let f = 0; f < 2; f++) for (let a = 0; a < A; a++) logits[(f * A + a) * C] = 8; // background column
    for (const h of hits) {
      logits[(h.frame * A + h.anchor) * C + 1] = logit(h.p);
      logits[(h.frame * A + h.anchor) * C + 2] = 20; // column 2 has a null label: never reported
    }
    return { enc, logits };
  }

  it('uses the face descriptor: its anchors, label "face", default threshold 0.5', () => {
    const decode = createPostprocessor(face);
    // anchor 3072: first of layer 1 (16x16), scale 0.35 at (1/32, 1/32) → box 1/32 -+ 0.175
    // anchor 0: layer 0, (0.1, 1.0) at (1/64, 1/64), p 0.4 < 0.5
    const { enc, logits } = fakeOutputs([
      { frame: 1, anchor: 3072, p: 0.95 },
      { frame: 1, anchor: 0, p: 0.4 },
      { frame: 0, anchor: 5117, p: 0.6 },
    ]);
    const f1 = decode(enc, logits, 1);
    const c = 1 / 32;
    expectDetections(f1, [{ classId: 1, label: 'face', score: 0.95, box: [c - 0.175, c - 0.175, c + 0.175, c + 0.175] }]);
    // anchor 5117: last (interpolated order: (0.95, 0.3333)) at the center: h 1.6455, w 0.5485
    const f0 = decode(enc, logits, 0);
    expect(f0).to.have.length(1);
    const [x1, y1, x2, y2] = f0[0].box;
    expect(x2 - x1).to.be.closeTo(0.95 * Math.sqrt(0.3333), 1e-6);
    expect(y2 - y1).to.be.closeTo(0.95 / Math.sqrt(0.3333), 1e-6);
    expect(y1).to.be.below(0); // not clipped
  });

  it('overrides replace the descriptor defaults; undefined overrides are ignored', () => {
    const { enc, logits } = fakeOutputs([{ frame: 0, anchor: 3072, p: 0.95 }, { frame: 0, anchor: 0, p: 0.4 }]);
    expect(createPostprocessor(face, { scoreThreshold: 0.96 })(enc, logits, 0)).to.deep.equal([]);
    expect(createPostprocessor(face, { scoreThreshold: 0.3 })(enc, logits, 0)).to.have.length(2);
    expect(createPostprocessor(face, { scoreThreshold: undefined })(enc, logits, 0)).to.have.length(1);
  });

  it('validates options once, when built', () => {
    expect(() => createPostprocessor(face, { iouThreshold: 2 })).to.throw(OptionError, /--iou\b/);
    expect(() => createPostprocessor(face, { maxDetections: 0 })).to.throw(OptionError, /--max-detections/);
    expect(() => createPostprocessor(face, { nms: 'fast' as never })).to.throw(OptionError, /nms/);
    expect(() => createPostprocessor({ ...face, labels: ['a'] })).to.throw(ModelError, /labels/);
  });
});

describe('class filter and per-class score thresholds', () => {
  const ids = (m: [number, number][]): ReadonlyMap<number, number> => new Map(m);

  it('classes: only the listed columns are read, before NMS (a filtered cat no longer suppresses the dog)', () => {
    expectDetections(decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.4, classes: [2] })), [
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 2, label: 'dog', score: 0.5, box: BOX_A1 },
    ]);
    // class-agnostic: without the cat on a0 the dog on a1 survives
    expectDetections(decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.4, classes: [2], classAgnostic: true })), [
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 2, label: 'dog', score: 0.5, box: BOX_A1 },
    ]);
    expectDetections(decodeDetections(ENC, LOGITS, 1, ctx(), opts({ classes: [1] })), [{ classId: 1, label: 'cat', score: 0.9, box: BOX_A0 }]);
    // a filtered column is never read: +Infinity there would otherwise be a score-1 detection
    const poisoned = LOGITS.slice();
    poisoned[9 + 3 * 0 + 2] = Infinity;
    expect(decodeDetections(ENC, poisoned, 1, ctx(), opts({ classes: [1] })).map((d) => d.label)).to.deep.equal(['cat']);
  });

  it('classScores: a class\'s own threshold, lower or higher than scoreThreshold', () => {
    // dog down to 0.45 brings the dog on a1 (0.5); the cat keeps 0.6
    expectDetections(decodeDetections(ENC, LOGITS, 1, ctx(), opts({ classScores: ids([[2, 0.45]]) })), [
      { classId: 1, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 2, label: 'dog', score: 0.5, box: BOX_A1 },
    ]);
    // cat up to 0.95: no cat
    expectDetections(decodeDetections(ENC, LOGITS, 1, ctx(), opts({ classScores: ids([[1, 0.95]]) })), [{ classId: 2, label: 'dog', score: 0.7, box: BOX_A2 }]);
    // without NMS: cat 0.9 >= 0.85 kept, cat 0.8 not; dog 0.7 and 0.5 at the global 0.5
    const noNms = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.5, iouThreshold: 1, classScores: ids([[1, 0.85]]) }));
    expect(noNms.map((d) => [d.label, Math.round(d.score * 100) / 100])).to.deep.equal([['cat', 0.9], ['dog', 0.7], ['dog', 0.5]]);
  });

  it('classScores with softmax: each column against its own threshold', () => {
    const logits = new Float32Array([0, Math.log(8), 0, 0, 0, 0, 0, 0, Math.log(3)]); // cat 0.8 on a0, dog 0.6 on a2, 1/3 on a1
    const softmax = ctx({ scores: { activation: 'softmax', backgroundClass: 0 } });
    const enc = new Float32Array(12);
    expectDetections(decodeDetections(enc, logits, 0, softmax, opts({ scoreThreshold: 0.7, classScores: ids([[2, 0.5]]) })), [
      { classId: 1, label: 'cat', score: 0.8, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.6, box: [0.15, 0.15, 0.25, 0.25] },
    ]);
    // dog down to 0.3 lets a1's 1/3 in; cat up to 0.9 drops the cat
    expectDetections(decodeDetections(enc, logits, 0, softmax, opts({ scoreThreshold: 0.7, classScores: ids([[1, 0.9], [2, 0.3]]) })), [
      { classId: 2, label: 'dog', score: 0.6, box: [0.15, 0.15, 0.25, 0.25] },
      { classId: 2, label: 'dog', score: 1 / 3, box: BOX_A1 },
    ]);
  });

  it('soft-NMS drops a candidate decayed below its class\'s threshold', () => {
    // the cat on a1 decays to 0.2097: kept at the global 0.2, dropped at cat >= 0.3
    const dets = decodeDetections(ENC, LOGITS, 1, ctx(), opts({ scoreThreshold: 0.2, iouThreshold: 1, nms: 'soft-gaussian', sigma: 0.5, classScores: ids([[1, 0.3]]) }));
    expectDetections(dets, [
      { classId: 1, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 2, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 2, label: 'dog', score: 0.5, box: BOX_A1 },
    ]);
  });
});

describe('createPostprocessor: classes and classScores by label, checked when built', () => {
  const face = readDescriptor(resolveDescriptorPath('face'));
  const coco = { name: 'coco-like', labels: [null, 'person', 'car', null, 'dog'], scores: { activation: 'sigmoid' as const, backgroundClass: 0 } };

  it('resolves labels, labels in another case and class ids to score columns', () => {
    expect(resolveClassOptions(coco, { classes: ['person', 'Car', '4', 2] })).to.deep.equal({ classes: [1, 2, 4] });
    expect(resolveClassOptions(coco, { classScores: { person: 0.6, dog: 0.4, 2: 0.3 } }).classScores).to.deep.equal(new Map([[2, 0.3], [1, 0.6], [4, 0.4]]));
    expect(resolveClassOptions(coco, {})).to.deep.equal({});
  });

  it('an unknown label, a null or background column is an OptionError naming it and listing the model\'s labels', () => {
    const labels = /person \(1\), car \(2\), dog \(4\)/;
    expect(() => resolveClassOptions(coco, { classes: ['person', 'bus'] })).to.throw(OptionError, /--classes.*coco-like.*"bus"/).with.property('message').that.matches(labels);
    expect(() => resolveClassOptions(coco, { classScores: { cat: 0.5 } })).to.throw(OptionError, /--class-scores.*"cat"/).with.property('message').that.matches(labels);
    for (const bad of [0, 3, 5, -1, 1.5, '0']) expect(() => resolveClassOptions(coco, { classes: [bad] }), String(bad)).to.throw(OptionError, /--classes/);
    expect(() => resolveClassOptions(coco, { classScores: { person: 1.5 } })).to.throw(OptionError, /--class-scores: expected scores in \[0, 1\], received "person=1.5"/);
    expect(() => resolveClassOptions(coco, { classes: [] })).to.throw(OptionError, /--classes/);
  });

  it('the face model: --classes face and --class-scores face=... on its outputs', () => {
    const A = 5118;
    const enc = new Float32Array(A * 4);
    const logits = new Float32Array(A * 3).fill(-8);
    logits[3072 * 3 + 1] = logit(0.95);
    logits[100 * 3 + 1] = logit(0.7);
    expect(createPostprocessor(face, { classes: ['face'] })(enc, logits, 0).map((d) => d.score)).to.have.length(2);
    expect(createPostprocessor(face, { classScores: { face: 0.9 } })(enc, logits, 0).map((d) => Math.round(d.score * 100))).to.deep.equal([95]);
    expect(createPostprocessor(face, { scoreThreshold: 0.99, classScores: { 1: 0.6 } })(enc, logits, 0)).to.have.length(2);
    expect(() => createPostprocessor(face, { classes: ['person'] })).to.throw(OptionError, /--classes: expected a label or class id of model face: face \(1\), received "person"/);
  });
});

describe('pre-decoded outputs (coco-ssd\'s TF.js graphs): coder and activation none, no anchors', () => {
  // The same frame 1 as above, as a network that decodes its own boxes would give it: boxes
  // [ymin, xmin, ymax, xmax] and probabilities, no background column (cat, dog).
  const boxes = new Float32Array([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // frame 0
    0.4, 0.4, 0.6, 0.6, 0.4, 0.42, 0.6, 0.62, 0.11, 0.13, 0.31, 0.23,
  ]);
  const probs = new Float32Array([
    0, 0, 0, 0, 0, 0,
    0.9, 1 / (1 + Math.exp(5)), 0.8, 0.5, 0.05, 0.7,
  ]);
  const pre = ctx({ anchors: new Float32Array(0), numClasses: 2, coder: { type: 'none' }, scores: { activation: 'none', backgroundClass: null }, labels: ['cat', 'dog'] });

  it('uses the boxes as given (reordered to x1, y1, x2, y2) and the scores as probabilities: the same detections as the raw outputs give', () => {
    const want = [
      { classId: 0, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 1, label: 'dog', score: 0.7, box: BOX_A2 },
    ];
    expectDetections(decodeDetections(boxes, probs, 1, pre, opts()), want);
    // Class ids shift by one (no background column), labels and boxes do not.
    const raw = decodeDetections(ENC, LOGITS, 1, ctx(), opts());
    expect(raw.map((d) => d.label)).to.deep.equal(want.map((d) => d.label));
    expect(decodeDetections(boxes, probs, 0, pre, opts())).to.deep.equal([]);
  });

  it('the threshold is inclusive on the probability itself; class-wise NMS keeps the overlapping dog, agnostic NMS drops it', () => {
    expectDetections(decodeDetections(boxes, probs, 1, pre, opts({ scoreThreshold: 0.5 })), [
      { classId: 0, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 1, label: 'dog', score: 0.7, box: BOX_A2 },
      { classId: 1, label: 'dog', score: 0.5, box: BOX_A1 },
    ]);
    expectDetections(decodeDetections(boxes, probs, 1, pre, opts({ scoreThreshold: 0.5, classAgnostic: true })), [
      { classId: 0, label: 'cat', score: 0.9, box: BOX_A0 },
      { classId: 1, label: 'dog', score: 0.7, box: BOX_A2 },
    ]);
  });

  it('createPostprocessor takes the box count from anchors {type: none, count}', () => {
    const post = createPostprocessor({
      name: 'pre', description: '', weights: { format: 'tfjs-graph', path: 'model.json' },
      input: { width: 4, height: 4, resize: 'stretch', normalize: { scale: 1, offset: 0 } },
      network: { imported: 'tfjs-graph', numClasses: 2 },
      anchors: { type: 'none', count: 3 },
      boxCoder: { type: 'none' },
      scores: { activation: 'none', backgroundClass: null },
      labels: ['cat', 'dog'],
      postprocess: { scoreThreshold: 0.6, iouThreshold: 0.5, maxDetections: 10 },
    });
    expect(post(boxes, probs, 1).map((d) => d.label)).to.deep.equal(['cat', 'dog']);
    expect(() => post(boxes.subarray(0, 20), probs, 1)).to.throw(ModelError, /box encodings/);
  });
});
