import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  anchorCount,
  generateAnchors,
  MOBILENET_SSD_COCO_300_ANCHORS,
  SSD300_PRIOR_BOX,
  SSD512_PRIOR_BOX,
} from '../../src/model/anchors.js';
import type { CaffePriorBoxSpec, TfMultipleGridAnchorSpec } from '../../src/model/descriptor.js';
import { ModelError } from '../../src/errors.js';
import { readDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { loadWeights } from '../../src/model-io/read-weights.js';
import { readTfliteTensors, TFLITE_TYPE } from '../helpers/tflite-tensor.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const COCO_TFLITE = path.resolve(REPO, '..', 'shared', 'models', 'coco-ssd-mobilenet-v1-quant', 'ssd_mobilenet_v1.tflite');

const faceSpec = (): TfMultipleGridAnchorSpec => readDescriptor(resolveDescriptorPath('face')).anchors as TfMultipleGridAnchorSpec;

/** Anchor i of a [n, 4] [cy, cx, h, w] array. */
function anchor(a: Float32Array, i: number): number[] {
  return Array.from(a.subarray(i * 4, i * 4 + 4));
}

function expectAnchor(a: Float32Array, i: number, expected: number[], tol = 1e-6): void {
  const got = anchor(a, i);
  got.forEach((v, k) => expect(v, `anchor ${i} component ${k} (got [${got.join(', ')}])`).to.be.closeTo(expected[k], tol));
}

const R2 = Math.SQRT2;
const R3 = Math.sqrt(3);
const R3333 = Math.sqrt(0.3333);

describe('generateAnchors', () => {
  describe('counts', () => {
    const table: [string, () => TfMultipleGridAnchorSpec | CaffePriorBoxSpec, number][] = [
      ['Caffe SSD300', () => SSD300_PRIOR_BOX, 8732],
      ['Caffe SSD512', () => SSD512_PRIOR_BOX, 24564],
      ['TF MobileNet-SSD 300 (COCO)', () => MOBILENET_SSD_COCO_300_ANCHORS, 1917],
      ['face model (models/face.json)', faceSpec, 5118],
    ];
    for (const [name, spec, count] of table) {
      it(`${name}: ${count} anchors`, () => {
        const a = generateAnchors(spec());
        expect(a).to.be.instanceOf(Float32Array);
        expect(a.length).to.equal(count * 4);
        expect(anchorCount(spec())).to.equal(count);
      });
    }
  });

  describe('TF multiple grid, face model (interpolated anchor after the 1.0 anchor)', () => {
    const a = generateAnchors(faceSpec());
    // scales 0.2, 0.35, 0.5, 0.65, 0.8, 0.95 (+1.0); h = s/sqrt(a), w = s*sqrt(a)
    it('layer 0 (32x32, reduced): (0.1,1), (0.2,2), (0.2,0.5) at cell center 0.5/32', () => {
      const c = 0.5 / 32; // 0.015625
      expectAnchor(a, 0, [c, c, 0.1, 0.1]);
      expectAnchor(a, 1, [c, c, 0.2 / R2, 0.2 * R2]); // 0.141421, 0.282843
      expectAnchor(a, 2, [c, c, 0.2 * R2, 0.2 / R2]);
      // next cell is x + 1 (column before row): cx = 1.5/32 = 0.046875
      expectAnchor(a, 3, [c, 1.5 / 32, 0.1, 0.1]);
      // row 1 starts after 32 cells * 3 anchors
      expectAnchor(a, 96, [1.5 / 32, c, 0.1, 0.1]);
    });
    it('layer 1 (16x16): (s,1), (sqrt(s*s_next),1), (s,2), (s,0.5), (s,3), (s,0.3333)', () => {
      const i0 = 32 * 32 * 3; // 3072
      const c = 0.5 / 16; // 0.03125
      const s = 0.35;
      const interp = Math.sqrt(0.35 * 0.5); // 0.418330
      expectAnchor(a, i0 + 0, [c, c, s, s]);
      expectAnchor(a, i0 + 1, [c, c, interp, interp]);
      expectAnchor(a, i0 + 2, [c, c, s / R2, s * R2]); // 0.247487, 0.494975
      expectAnchor(a, i0 + 3, [c, c, s * R2, s / R2]);
      expectAnchor(a, i0 + 4, [c, c, s / R3, s * R3]); // 0.202073, 0.606218
      expectAnchor(a, i0 + 5, [c, c, s / R3333, s * R3333]); // 0.606248, 0.202062 (literal 0.3333, not 1/3)
      expectAnchor(a, i0 + 6, [c, 1.5 / 16, s, s]);
    });
    it('last layer (1x1): scale 0.95, interpolated sqrt(0.95 * 1.0) = 0.974679, centered', () => {
      const i0 = 5118 - 6;
      expectAnchor(a, i0 + 0, [0.5, 0.5, 0.95, 0.95]);
      expectAnchor(a, i0 + 1, [0.5, 0.5, 0.9746794, 0.9746794]);
      expectAnchor(a, i0 + 5, [0.5, 0.5, 1.6455305, 0.5484553]); // not clipped: h > 1
    });

    it('equal the face-api weights\' Output/extra_dim anchors within 1e-5', async () => {
      const descriptor = readDescriptor(resolveDescriptorPath('face'));
      const weights = await loadWeights(descriptor.weights);
      const ref = weights.get('Output/extra_dim');
      expect(ref, 'Output/extra_dim in the face-api manifest').to.not.equal(undefined);
      expect(ref!.shape).to.deep.equal([1, 5118, 4]);
      // reference: [1, 5118, 4] corners [ymin, xmin, ymax, xmax]
      let maxErr = 0;
      for (let i = 0; i < 5118; i++) {
        const [ymin, xmin, ymax, xmax] = ref!.data.subarray(i * 4, i * 4 + 4);
        const want = [(ymin + ymax) / 2, (xmin + xmax) / 2, ymax - ymin, xmax - xmin];
        for (let k = 0; k < 4; k++) maxErr = Math.max(maxErr, Math.abs(a[i * 4 + k] - want[k]));
      }
      expect(maxErr).to.be.below(1e-5);
    });

    it('with the interpolated anchor last instead, the face anchors no longer match that order', () => {
      const moved = generateAnchors({ ...faceSpec(), interpolatedPosition: 'last' });
      const i0 = 3072;
      expectAnchor(moved, i0 + 1, [1 / 32, 1 / 32, 0.35 / R2, 0.35 * R2]);
      expectAnchor(moved, i0 + 5, [1 / 32, 1 / 32, Math.sqrt(0.175), Math.sqrt(0.175)]);
      // layer 0 is reduced, so it is unaffected
      expect(anchor(moved, 0)).to.deep.equal(anchor(a, 0));
    });
  });

  describe('TF multiple grid, COCO MobileNet-SSD 300 (interpolated anchor last)', () => {
    const a = generateAnchors(MOBILENET_SSD_COCO_300_ANCHORS);
    it('layer 0 (19x19) and layer 1 (10x10) golden anchors', () => {
      const c0 = 0.5 / 19; // 0.0263158
      expectAnchor(a, 0, [c0, c0, 0.1, 0.1]);
      expectAnchor(a, 1, [c0, c0, 0.2 / R2, 0.2 * R2]);
      expectAnchor(a, 4, [c0, 1.5 / 19, 0.2 / R2, 0.2 * R2]);
      const i0 = 19 * 19 * 3; // 1083
      const c1 = 0.05;
      expectAnchor(a, i0 + 0, [c1, c1, 0.35, 0.35]);
      expectAnchor(a, i0 + 1, [c1, c1, 0.35 / R2, 0.35 * R2]);
      expectAnchor(a, i0 + 4, [c1, c1, 0.35 / R3333, 0.35 * R3333]);
      expectAnchor(a, i0 + 5, [c1, c1, Math.sqrt(0.175), Math.sqrt(0.175)]);
    });

    it('equal the TFLite COCO SSD\'s anchor constant within half a quantization step (0.0033)', function () {
      if (!existsSync(COCO_TFLITE)) {
        // Mocha prints the title of a skipped test as pending: say why there.
        this.test!.title += ` (skipped: ${COCO_TFLITE} not found)`;
        this.skip();
      }
      const tensors = readTfliteTensors(readFileSync(COCO_TFLITE));
      const t = tensors.find((x) => x.type === TFLITE_TYPE.UINT8 && x.data !== null && x.shape.join(',') === '1917,4');
      expect(t, 'a constant uint8 [1917,4] tensor in the .tflite').to.not.equal(undefined);
      expect(t!.scale[0]).to.be.closeTo(0.00645306, 1e-7);
      expect(t!.zeroPoint[0]).to.equal(0);
      // [1917, 4] as [ycenter, xcenter, h, w], real = (q - zeroPoint) * scale
      let maxErr = 0;
      for (let i = 0; i < 1917 * 4; i++) {
        const real = (t!.data![i] - t!.zeroPoint[0]) * t!.scale[0];
        maxErr = Math.max(maxErr, Math.abs(real - a[i]));
      }
      expect(maxErr).to.be.below(0.0033);
      // the other order does not fit: the check can fail
      const wrong = generateAnchors({ ...MOBILENET_SSD_COCO_300_ANCHORS, interpolatedPosition: 'after-unit' });
      let wrongErr = 0;
      for (let i = 0; i < 1917 * 4; i++) wrongErr = Math.max(wrongErr, Math.abs((t!.data![i] - t!.zeroPoint[0]) * t!.scale[0] - wrong[i]));
      expect(wrongErr).to.be.above(0.05);
    });
  });

  describe('TF multiple grid options', () => {
    const base: TfMultipleGridAnchorSpec = {
      type: 'tf-multiple-grid',
      featureMaps: [2, 1],
      minScale: 0.2,
      maxScale: 0.9,
      aspectRatios: [1.0, 2.0],
      reduceBoxesInLowestLayer: false,
      interpolatedScaleAspectRatio: 0,
      interpolatedPosition: 'last',
    };
    it('no interpolated anchor when its aspect ratio is 0; no reduction when disabled', () => {
      const a = generateAnchors(base);
      expect(a.length / 4).to.equal(2 * 2 * 2 + 1 * 2);
      expectAnchor(a, 0, [0.25, 0.25, 0.2, 0.2]);
      expectAnchor(a, 1, [0.25, 0.25, 0.2 / R2, 0.2 * R2]);
      expectAnchor(a, 8, [0.5, 0.5, 0.9, 0.9]);
    });
    it('baseAnchorSize scales h and w', () => {
      const a = generateAnchors({ ...base, baseAnchorSize: [2, 0.5] });
      expectAnchor(a, 1, [0.25, 0.25, (0.2 / R2) * 2, 0.2 * R2 * 0.5]);
    });
    it('rejects an empty aspect ratio list with a ModelError', () => {
      expect(() => generateAnchors({ ...base, aspectRatios: [] })).to.throw(ModelError, /aspectRatios/);
    });
  });

  describe('Caffe PriorBox', () => {
    it('SSD300 layer 0 (38x38, step 8): min square, sqrt(min*max) square, ar 2, ar 1/2', () => {
      const a = generateAnchors(SSD300_PRIOR_BOX);
      const c = (0.5 * 8) / 300; // 0.0133333
      expectAnchor(a, 0, [c, c, 0.1, 0.1]); // 30/300
      expectAnchor(a, 1, [c, c, Math.sqrt(30 * 60) / 300, Math.sqrt(30 * 60) / 300]); // 0.141421
      expectAnchor(a, 2, [c, c, 0.1 / R2, 0.1 * R2]); // h 0.070711, w 0.141421
      expectAnchor(a, 3, [c, c, 0.1 * R2, 0.1 / R2]);
      expectAnchor(a, 4, [c, (1.5 * 8) / 300, 0.1, 0.1]); // cx 0.04
    });
    it('SSD300 layer 1 (19x19, step 16): ratios 2, 1/2, 3, 1/3', () => {
      const a = generateAnchors(SSD300_PRIOR_BOX);
      const i0 = 38 * 38 * 4; // 5776
      const c = 8 / 300; // 0.0266667
      expectAnchor(a, i0, [c, c, 0.2, 0.2]);
      expectAnchor(a, i0 + 1, [c, c, 0.2720294, 0.2720294]); // sqrt(60*111)/300
      expectAnchor(a, i0 + 4, [c, c, 0.2 / R3, 0.2 * R3]); // 0.115470, 0.346410
      expectAnchor(a, i0 + 5, [c, c, 0.2 * R3, 0.2 / R3]);
    });
    it('SSD300 last anchor (1x1, step 300, ar 1/2) is not clipped; with clip it is', () => {
      const a = generateAnchors(SSD300_PRIOR_BOX);
      expectAnchor(a, 8731, [0.5, 0.5, 0.88 * R2, 0.88 / R2]); // h 1.244508
      expectAnchor(a, 8729, [0.5, 0.5, 0.9612492, 0.9612492]); // sqrt(264*315)/300
      const clipped = generateAnchors({ ...SSD300_PRIOR_BOX, clip: true });
      expectAnchor(clipped, 8731, [0.5, 0.5, 1.0, 0.88 / R2]);
      // first anchor: corners 0.0133 +- 0.05 → y in [0, 0.063333], center moves to 0.031667
      expectAnchor(clipped, 0, [0.0633333 / 2, 0.0633333 / 2, 0.0633333, 0.0633333]);
    });
    it('SSD512 first and last anchors', () => {
      const a = generateAnchors(SSD512_PRIOR_BOX);
      const c = 4 / 512; // 0.0078125
      expectAnchor(a, 0, [c, c, 0.07, 0.07]); // 35.84/512
      expectAnchor(a, 1, [c, c, 0.1024695, 0.1024695]); // sqrt(35.84*76.8)/512
      expectAnchor(a, 2, [c, c, 0.07 / R2, 0.07 * R2]);
      expectAnchor(a, 24563, [0.5, 0.5, 0.9 * R2, 0.9 / R2]); // 460.8/512 = 0.9, ar 1/2
    });
    it('without flip only the given ratios are added', () => {
      const a = generateAnchors({ ...SSD300_PRIOR_BOX, flip: false });
      expect(a.length / 4).to.equal(38 * 38 * 3 + (19 * 19 + 10 * 10 + 5 * 5) * 4 + (9 + 1) * 3);
      expectAnchor(a, 3, [(0.5 * 8) / 300, (1.5 * 8) / 300, 0.1, 0.1]);
    });
    it('rejects per-layer lists of the wrong length', () => {
      expect(() => generateAnchors({ ...SSD300_PRIOR_BOX, steps: [8, 16] })).to.throw(ModelError, /steps/);
    });
  });
});

describe('anchors none (a network that decodes its own boxes)', () => {
  it('generates nothing and counts `count` boxes; a count that is not a whole number >= 1 is a ModelError', () => {
    expect(generateAnchors({ type: 'none', count: 1917 })).to.have.length(0);
    expect(anchorCount({ type: 'none', count: 1917 })).to.equal(1917);
    expect(() => generateAnchors({ type: 'none', count: 0 })).to.throw(ModelError, /anchors\.count/);
  });
});
