import { expect } from 'chai';
import { benchRatios } from '../../bench/ratios.js';
import type { BenchRound } from '../../bench/result.js';

const rounds: BenchRound[] = [
  { inference_fps: 55, ceiling_fps: 55, jsonl_fps: 48, video_fps: 38, naive_fps: 35, jsonl_vs_ceiling: 0.873, video_vs_ceiling: 0.691, video_vs_naive_fast: 1.086 },
  { inference_fps: 52, ceiling_fps: 52, jsonl_fps: 50, video_fps: 37, naive_fps: 34, jsonl_vs_ceiling: 0.962, video_vs_ceiling: 0.712, video_vs_naive_fast: 1.088 },
  { inference_fps: 60, ceiling_fps: 60, jsonl_fps: 54, video_fps: 40, naive_fps: 40, jsonl_vs_ceiling: 0.9, video_vs_ceiling: 0.667, video_vs_naive_fast: 1 },
];

describe('benchRatios', () => {
  it('takes medians of the per-round ratios and sets the slow loops against the median JSONL fps', () => {
    const rows = [{ name: 'model only, onnx/cpu, batch 1', frames: 1, seconds: 1, fps: 100 }, { name: 'model only, tfjs/wasm, batch 1', frames: 1, seconds: 1, fps: 8 }];
    expect(benchRatios(rounds, { naiveWasmFps: 4, faceApiFps: 2.5 }, rows)).to.deep.equal({
      ceiling_fps: 55,
      jsonl_vs_ceiling: 0.9,
      video_vs_ceiling: 0.691,
      jsonl_vs_faceapi_loop: 20,
      jsonl_vs_naive_wasm: 12.5,
      jsonl_vs_naive_fast: 1.43,
      video_vs_naive_fast: 1.09,
      onnx_vs_tfjs_batch1: 12.5,
    });
  });

  it('keeps the face-api ratio as null when face-api could not run, so the target reads "not measured"', () => {
    const r = benchRatios(rounds, { naiveWasmFps: 4, faceApiFps: null }, []);
    expect(r).to.have.property('jsonl_vs_faceapi_loop', null);
    expect(Object.keys(r)).to.not.include('onnx_vs_tfjs_batch1');
  });
});
