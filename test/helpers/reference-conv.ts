import type { ConvLayer, SsdGraph } from '../../src/model/ssd-graph.js';

/**
 * Straightforward NHWC convolution straight from the TF definition, for checking runtimes:
 * input [batch, inH, inW, in] -> output [batch, outH, outW, out], TF kernel layouts
 * (conv [kh, kw, in, out], depthwise [kh, kw, C, m]), zero padding by layer.pads
 * [top, left, bottom, right], then bias, activation and clip. Accumulates in float64.
 */
export function referenceConv(input: Float32Array, batch: number, layer: ConvLayer): Float32Array {
  const { kernel: k, stride, inChannels: I, outChannels: O, inHeight: IH, inWidth: IW, outHeight: OH, outWidth: OW } = layer;
  const [top, left] = layer.pads;
  // activation, then the clip
  let lo = layer.activation === 'linear' ? -Infinity : 0;
  let hi = layer.activation === 'relu6' ? 6 : Infinity;
  if (layer.clip) [lo, hi] = [Math.max(lo, layer.clip[0]), Math.min(hi, layer.clip[1])];
  const out = new Float32Array(batch * OH * OW * O);
  for (let n = 0; n < batch; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let o = 0; o < O; o++) {
          let acc = layer.bias[o];
          for (let ky = 0; ky < k; ky++) {
            const iy = oy * stride + ky - top;
            if (iy < 0 || iy >= IH) continue;
            for (let kx = 0; kx < k; kx++) {
              const ix = ox * stride + kx - left;
              if (ix < 0 || ix >= IW) continue;
              const base = ((n * IH + iy) * IW + ix) * I;
              if (layer.kind === 'depthwise') {
                // output o = c * m + j reads input channel c
                acc += input[base + Math.floor(o / (O / I))] * layer.weights[(ky * k + kx) * O + o];
              } else {
                for (let i = 0; i < I; i++) acc += input[base + i] * layer.weights[((ky * k + kx) * I + i) * O + o];
              }
            }
          }
          out[((n * OH + oy) * OW + ox) * O + o] = Math.min(Math.max(acc, lo), hi);
        }
      }
    }
  }
  return out;
}

/**
 * Runs a whole SsdGraph with referenceConv: input NHWC [batch, H, W, 3] ->
 * boxEncodings [batch, A, 4] and classLogits [batch, A, C] in head, row, column, anchor order.
 */
export function referenceSsd(graph: SsdGraph, input: Float32Array, batch: number): { boxEncodings: Float32Array; classLogits: Float32Array } {
  const maps = new Map<string, Float32Array>([['input', input]]);
  for (const layer of graph.layers) {
    const src = maps.get(layer.input);
    if (!src) throw new Error(`reference: ${layer.name} reads undefined ${layer.input}`);
    maps.set(layer.name, referenceConv(src, batch, layer));
  }
  const A = graph.numAnchors;
  const C = graph.numClasses;
  const boxEncodings = new Float32Array(batch * A * 4);
  const classLogits = new Float32Array(batch * A * C);
  for (let n = 0; n < batch; n++) {
    let offset = 0; // anchors before this head
    for (const head of graph.heads) {
      const cells = head.height * head.width * head.anchorsPerCell;
      // An NHWC map [batch, h, w, k*d] is already [batch, h*w*k, d] in memory.
      const box = maps.get(head.boxLayer)!.subarray(n * cells * 4, (n + 1) * cells * 4);
      const cls = maps.get(head.classLayer)!.subarray(n * cells * C, (n + 1) * cells * C);
      boxEncodings.set(box, (n * A + offset) * 4);
      classLogits.set(cls, (n * A + offset) * C);
      offset += cells;
    }
  }
  return { boxEncodings, classLogits };
}
