import { expect } from 'chai';
import { formatSummary, StatsCollector, summarize, formatSource } from '../../src/pipeline/stats.js';

describe('summarize', () => {
  it('gives nearest-rank p50/p95 and the mean', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(summarize(v)).to.deep.equal({ p50: 50, p95: 95, mean: 50.5 });
    expect(summarize([7])).to.deep.equal({ p50: 7, p95: 7, mean: 7 });
  });
});

describe('StatsCollector', () => {
  it('counts frames and detections and computes fps from its clock', () => {
    let now = 0;
    const s = new StatsCollector(() => now);
    const frame = { source: 'a', seq: 0, ptsMs: 0, width: 2, height: 2, data: new Uint8Array(12) };
    for (let i = 0; i < 50; i++) {
      s.record({ frame, detections: [], timings: { inference: 10, preprocess: i < 49 ? 1 : 100 } });
    }
    now = 2000;
    const sum = s.summary({ dropped: 3, model: 'face', engine: 'onnx', backend: 'cpu', batch: 4, ended: 'complete', sources: ['a'], per_source: s.sourceSummaries(['a'], () => 3), inputs: [] });
    expect(sum.per_source).to.deep.equal([{ source: 'a', frames: 50, detections: 0, dropped: 3, fps: 25 }]);
    expect(sum.frames).to.equal(50);
    expect(sum.fps).to.equal(25);
    expect(sum.wall_s).to.equal(2);
    expect(sum.stages.inference).to.deep.equal({ p50: 10, p95: 10, mean: 10 });
    expect(sum.stages.preprocess!.p95).to.equal(1);
    expect(sum.stages.decode).to.equal(undefined);
    expect(formatSummary(sum)).to.match(/50 frames in 2\.00 s \(25\.0 fps\)/).and.match(/inference\s+10\.00/);
  });
});

describe('StatsCollector: live sources', () => {
  it('keeps each source\'s state, reconnects and frame age at output (p50 / p95)', () => {
    let now = 0;
    const s = new StatsCollector(() => now);
    const status = (state: 'connecting' | 'streaming' | 'reconnecting', attempt = 0) =>
      ({ kind: 'status', source: 'cam', state, time: new Date(0).toISOString(), attempt, reason: null }) as const;
    s.recordEvent(status('connecting'));
    s.recordEvent(status('streaming'));
    s.recordEvent(status('reconnecting', 1));
    s.recordEvent(status('streaming', 1));
    for (let i = 0; i < 100; i++) {
      const frame = { source: 'cam', seq: i, ptsMs: i * 40, width: 2, height: 2, data: new Uint8Array(12), wallMs: 1_000 + i * 40 };
      // Written 50 ms after arrival, but the last 5 frames 500 ms after.
      s.record({ frame, detections: [], timings: {} }, frame.wallMs + (i < 95 ? 50 : 500));
    }
    now = 4000;
    const [cam] = s.sourceSummaries(['cam'], () => 7);
    expect(cam).to.deep.equal({ source: 'cam', frames: 100, detections: 0, dropped: 7, fps: 25, state: 'streaming', reconnects: 1, age_ms: { p50: 50, p95: 50 } });
    expect(formatSource(cam)).to.equal('cam: 100 frames, 25.0 fps, streaming, 7 dropped, 1 reconnects, age p50 50 ms, p95 50 ms');
  });
});
