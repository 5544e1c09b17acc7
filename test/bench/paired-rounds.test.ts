import { expect } from 'chai';
import { medianOf, pairedRows, type PairedRounds } from '../../bench/paired-rounds.js';
import type { BenchRound } from '../../bench/result.js';

const round = (jsonl: number, naive: number): BenchRound => ({
  inference_fps: 60, ceiling_fps: 55, jsonl_fps: jsonl, video_fps: 40, naive_fps: naive,
  jsonl_vs_ceiling: jsonl / 55, video_vs_ceiling: 40 / 55, video_vs_naive_fast: 40 / naive,
});

describe('paired rounds', () => {
  it('medianOf takes the median of one measurement over the rounds', () => {
    expect(medianOf([round(48, 30), round(52, 35), round(50, 31)], 'jsonl_fps')).to.equal(50);
    expect(medianOf([round(48, 30), round(52, 36)], 'naive_fps')).to.equal(33);
  });

  it('pairedRows gives the four rows at the medians, with the last round\'s frames and the spread', () => {
    const p: PairedRounds = { rounds: [round(48, 30), round(52, 35), round(50, 31)], frames: { inference: 240, jsonl: 750, video: 750, naive: 100 } };
    const rows = pairedRows(p, 4, 'onnx/cpu');
    expect(rows.map((r) => r.name)).to.deep.equal([
      'inference only, batch 4 (onnx/cpu), paired with each round',
      'pipeline -> JSONL (batch 4)',
      'pipeline -> JSONL + MP4 (batch 4)',
      'naive loop (onnx/cpu, decode->detect->draw->write)',
    ]);
    expect(rows[1]).to.deep.equal({ name: 'pipeline -> JSONL (batch 4)', frames: 750, seconds: 15, fps: 50, note: 'median of 3, 48.0-52.0' });
    expect(rows[3]).to.include({ frames: 100, fps: 31, seconds: 3.226, note: 'median of 3, 30.0-35.0' });
  });

  it('pairedRows gives no spread note for a single round', () => {
    const rows = pairedRows({ rounds: [round(48, 30)], frames: { inference: 1, jsonl: 2, video: 3, naive: 4 } }, 1, 'onnx/cpu');
    for (const r of rows) expect(r).not.to.have.property('note');
  });
});
