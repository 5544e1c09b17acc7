import { expect } from 'chai';
import { formatBench } from '../../bench/format.js';
import type { BenchResult } from '../../bench/result.js';

describe('formatBench', () => {
  const result = (ratios: BenchResult['ratios']): BenchResult => ({
    input: 'in.mp4',
    width: 1280,
    height: 720,
    engine: 'onnx/cpu',
    rows: [{ name: 'pipeline -> JSONL (batch 1)', frames: 750, seconds: 15, fps: 50, note: 'median of 3, 48.0-51.0' }],
    ratios,
    rounds: [
      { inference_fps: 55, ceiling_fps: 55, jsonl_fps: 48, video_fps: 38, naive_fps: 35, jsonl_vs_ceiling: 0.873, video_vs_ceiling: 0.691, video_vs_naive_fast: 1.086 },
      { inference_fps: 52, ceiling_fps: 52, jsonl_fps: 50, video_fps: 37, naive_fps: 34, jsonl_vs_ceiling: 0.962, video_vs_ceiling: 0.712, video_vs_naive_fast: 1.088 },
    ],
  });

  it('says which targets are met and which are not, with the measured value', () => {
    const text = formatBench(result({ jsonl_vs_ceiling: 0.9, video_vs_ceiling: 0.65, jsonl_vs_faceapi_loop: null, video_vs_naive_fast: 1.3 }));
    expect(text).to.match(/^throughput targets, on the medians:$/m);
    expect(text).to.match(/JSONL vs the slower ceiling: 0\.9 \(target >= 0\.85\) met/);
    expect(text).to.match(/JSONL \+ MP4 vs the slower ceiling: 0\.65 \(target >= 0\.7\) NOT met/);
    expect(text).to.match(/face-api's per-frame loop: n\/a \(target >= 10\) not measured/);
    expect(text).to.match(/naive loop \(both write the MP4\): 1\.3 \(target >= 1\.3\) met/);
  });

  it('prints one line per round and the rows with their spread', () => {
    const lines = formatBench(result({})).split('\n');
    expect(lines.filter((l) => /^[12]\s+\d/.test(l))).to.have.length(2);
    expect(lines.find((l) => l.startsWith('2 '))).to.match(/52\.0\s+50\.0\s+37\.0\s+34\.0\s+0\.962\s+0\.712\s+1\.09/);
    expect(lines.find((l) => l.startsWith('pipeline -> JSONL'))).to.match(/50\.0\s+median of 3, 48\.0-51\.0$/);
    expect(lines.some((l) => l.startsWith('throughput targets'))).to.equal(false);
  });

  it('leaves out the per-round table for a single round, and prints the soak RSS with its growth in percent', () => {
    const one = { ...result({}), rounds: result({}).rounds!.slice(0, 1), rss: { after1000MiB: 300.5, after10000MiB: 310, growth: 0.032 } };
    const text = formatBench(one);
    expect(text).not.to.match(/^per round/m);
    expect(text).to.match(/^rss after 1,000 frames 300\.5 MiB, after 10,000 310 MiB \(growth 3\.2%\)$/m);
  });
});
