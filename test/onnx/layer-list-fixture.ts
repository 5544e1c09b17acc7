import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LayerListNetworkSpec, ModelDescriptor } from '../../src/model/descriptor.js';
import type { WeightMap } from '../../src/model/weights.js';

/** The SSD300-VGG16 architecture description (no weights exist for it in this repository). */
export const SSD300_VGG16_PATH = path.resolve('models/architectures/ssd300-vgg16.json');

/** Reads a layer-list descriptor as JSON (load-model's validator only knows MobileNet networks). */
export function readLayerListDescriptor(file = SSD300_VGG16_PATH): ModelDescriptor & { network: LayerListNetworkSpec } {
  return JSON.parse(readFileSync(file, 'utf8')) as ModelDescriptor & { network: LayerListNetworkSpec };
}

/** Deterministic uniform floats in [-a, a) (an LCG: same seed, same values). */
function uniform(length: number, a: number, next: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (next() * 2 - 1) * a;
  return out;
}

/**
 * Seeded random weights for every name a layer-list descriptor needs, shaped by walking its
 * layers' channels (independently of ssd-graph.ts). Convs get He-uniform kernels so ReLU
 * activations keep their scale through the 15 VGG convs; predictors are scaled by `headGain`
 * so box encodings stay O(1) and exp() in the box coder stays finite; l2norm scales are near
 * their initial value (20 in SSD300).
 */
export function randomLayerListWeights(desc: ModelDescriptor & { network: LayerListNetworkSpec }, seed: number, headGain = 0.02): WeightMap {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const weights: WeightMap = new Map();
  const put = (name: string, shape: number[], data: Float32Array): void => {
    weights.set(name, { shape, data });
  };
  const channels = new Map<string, number>([['input', 3]]);
  let last = 'input';
  for (const l of desc.network.layers) {
    const cin = channels.get(l.input ?? last)!;
    if (l.op === 'conv') {
      const fanIn = l.kernel * l.kernel * cin;
      put(`${l.name}/weights`, [l.kernel, l.kernel, cin, l.filters], uniform(fanIn * l.filters, Math.sqrt(6 / fanIn), next));
      put(`${l.name}/biases`, [l.filters], uniform(l.filters, 0.01, next));
      channels.set(l.name, l.filters);
    } else {
      if (l.op === 'l2norm') put(`${l.name}/scale`, [cin], Float32Array.from(uniform(cin, 1, next), (v) => (l.initialScale ?? 20) + v));
      channels.set(l.name, cin);
    }
    last = l.name;
  }
  const C = desc.network.numClasses;
  for (const p of desc.network.predictors) {
    const cin = channels.get(p.source)!;
    const k = p.kernel ?? 1;
    const fanIn = k * k * cin;
    for (const [suffix, depth] of [['BoxEncodingPredictor', 4], ['ClassPredictor', C]] as const) {
      const out = p.anchorsPerCell * depth;
      put(`${p.name}/${suffix}/weights`, [k, k, cin, out], uniform(fanIn * out, headGain * Math.sqrt(6 / fanIn), next));
      put(`${p.name}/${suffix}/biases`, [out], uniform(out, 0.1, next));
    }
  }
  return weights;
}
