import { expect } from 'chai';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadImage, createCanvas } from '@napi-rs/canvas';
import { createEngine } from '../../src/engines/select-engine.js';
import type { Engine } from '../../src/engines/engine.js';
import type { Frame } from '../../src/frame.js';
import { SsdDetector } from '../../src/inference/detector.js';
import { loadModel, type LoadedModel } from '../../src/model-io/load-model.js';

// The reference: face-api's own SsdMobilenetv1 (same weights) on TF.js's wasm backend, with its
// own preprocessing (pad to square, bilinear resize to 512). ssdpipe must find every reference
// face with score >= 0.5 at IoU >= 0.9 and |score difference| <= 0.02, and report no extra face.

const require = createRequire(import.meta.url);
const faceApiDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));

interface RefFace {
  score: number;
  box: [number, number, number, number]; // pixels x1 y1 x2 y2, clipped to the image
}

async function decodePhoto(file: string): Promise<Frame> {
  const img = await loadImage(file);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { source: path.basename(file), seq: 0, ptsMs: 0, width: img.width, height: img.height, data: rgb };
}

function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
async function referenceFaces(faceapi: any, frame: Frame, minConfidence: number): Promise<RefFace[]> {
  const tf = faceapi.tf;
  const t = tf.tensor3d(frame.data, [frame.height, frame.width, 3], 'int32');
  try {
    const found = await faceapi.detectAllFaces(t, new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 100 }));
    return found.map((d: any) => {
      const b = d.box;
      return {
        score: d.score,
        box: [Math.max(0, b.x), Math.max(0, b.y), Math.min(frame.width, b.x + b.width), Math.min(frame.height, b.y + b.height)],
      };
    });
  } finally {
    t.dispose();
  }
}

describe('reference: face-api SsdMobilenetv1 vs ssdpipe on the six demo photos', function () {
  this.timeout(300_000);
  const photos = [1, 2, 3, 4, 5, 6].map((i) => path.join(faceApiDir, 'demo', `sample${i}.jpg`));
  let faceapi: any;
  let model: LoadedModel;
  const engines: Engine[] = [];
  const frames: Frame[] = [];
  const refs: RefFace[][] = [];

  before(async () => {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(path.join(faceApiDir, 'model'));
    model = await loadModel('face');
    for (const p of photos) {
      const f = await decodePhoto(p);
      frames.push(f);
      refs.push(await referenceFaces(faceapi, f, 0.3));
    }
    faceapi.nets.ssdMobilenetv1.dispose();
  });

  after(async () => {
    for (const e of engines) await e.dispose();
  });

  it('the reference finds faces on every photo (sanity)', () => {
    const total = refs.reduce((n, r) => n + r.filter((f) => f.score >= 0.5).length, 0);
    expect(total).to.be.at.least(6);
  });

  for (const engineKind of ['onnx', 'tfjs'] as const) {
    it(`ssdpipe on the ${engineKind} engine matches the reference`, async () => {
      const engine = await createEngine(model.graph, { engine: engineKind, backend: engineKind === 'tfjs' ? 'wasm' : undefined });
      engines.push(engine);
      const detector = new SsdDetector(model.descriptor, engine, { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 100, classAgnostic: false, nms: 'hard' });
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i];
        const [result] = await detector.detect([frame]);
        const ours = result.detections.map((d) => ({
          score: d.score,
          box: [d.box[0] * frame.width, d.box[1] * frame.height, d.box[2] * frame.width, d.box[3] * frame.height],
        }));
        const where = `${frame.source} (${frame.width}x${frame.height})`;
        // Every reference face >= 0.5 is found.
        for (const r of refs[i].filter((f) => f.score >= 0.5)) {
          const best = ours.reduce<{ iou: number; score: number }>((acc, o) => {
            const v = iou(o.box, r.box);
            return v > acc.iou ? { iou: v, score: o.score } : acc;
          }, { iou: 0, score: 0 });
          expect(best.iou, `${where}: IoU for reference face ${JSON.stringify(r)}`).to.be.at.least(0.9);
          expect(Math.abs(best.score - r.score), `${where}: score for reference face ${JSON.stringify(r)}`).to.be.at.most(0.02);
        }
        // No extra face >= 0.5: each of ours matches a reference face (found at >= 0.3) of score >= 0.48.
        for (const o of ours.filter((d) => d.score >= 0.5)) {
          const match = refs[i].find((r) => iou(o.box, r.box) >= 0.9 && r.score >= 0.48);
          expect(match, `${where}: extra face ${JSON.stringify(o)}`).to.not.equal(undefined);
        }
      }
    });
  }
});
