import { expect } from 'chai';
import { engineRatios } from '../../bench/engines.js';
import type { BenchRow } from '../../bench/result.js';

const row = (name: string, fps: number): BenchRow => ({ name, frames: 100, seconds: 100 / fps, fps });

describe('engineRatios', () => {
  it('divides onnx fps by tfjs fps at the same batch size, whatever the backends', () => {
    const rows = [
      row('decode only (ffmpeg -> rgb24 frames)', 200),
      row('model only, onnx/cpu, batch 1', 120),
      row('model only, onnx/cpu, batch 4', 150),
      row('model only, tfjs/wasm, batch 1', 12),
      row('model only, tfjs/wasm, batch 4', 20),
    ];
    expect(engineRatios(rows)).to.deep.equal({ onnx_vs_tfjs_batch1: 10, onnx_vs_tfjs_batch4: 7.5 });
  });

  it('leaves out a batch size that only one engine measured, and batch 1 is not batch 11', () => {
    const rows = [row('model only, onnx/cpu, batch 1', 100), row('model only, onnx/cpu, batch 8', 100), row('model only, tfjs/tensorflow, batch 11', 50)];
    expect(engineRatios(rows)).to.deep.equal({});
  });
});
