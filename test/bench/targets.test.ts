import { expect } from 'chai';
import { TARGETS, targetLines } from '../../bench/targets.js';

describe('targetLines', () => {
  it('gives one line per target the ratios have, in the order of TARGETS, and none for absent keys', () => {
    const lines = targetLines({ video_vs_naive_fast: 2, jsonl_vs_ceiling: 0.5, onnx_vs_tfjs_batch1: 9 });
    expect(lines).to.have.length(2);
    expect(lines[0]).to.equal('  pipeline -> JSONL vs the slower ceiling: 0.5 (target >= 0.85) NOT met');
    expect(lines[1]).to.equal('  pipeline -> JSONL + MP4 vs the naive loop (both write the MP4): 2 (target >= 1.3) met');
    expect(targetLines({})).to.deep.equal([]);
  });

  it('counts a value equal to the minimum as met, and null as not measured', () => {
    for (const t of TARGETS) {
      expect(targetLines({ [t.key]: t.min })[0], t.key).to.match(/ met$/);
      expect(targetLines({ [t.key]: null })[0], t.key).to.match(/: n\/a \(target >= [\d.]+\) not measured$/);
    }
  });
});
