import { expect } from 'chai';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import type { FrameDetections } from '../../src/detection.js';
import type { PipelineRecord } from '../../src/records.js';
import type { TrackRecord } from '../../src/tracking/track-record.js';
import { writeSinks } from '../../src/operators/write-sinks.js';
import type { Sink } from '../../src/sinks/sink.js';

const item = (seq: number): FrameDetections => ({
  frame: { source: 't', seq, ptsMs: seq * 40, width: 2, height: 2, data: new Uint8Array(12) },
  detections: [],
  timings: { inference: 3 },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A sink that logs the start and end of each write; `delay(seq)` says how long a write takes. */
function loggingSink(name: string, log: string[], delay: (seq: number) => number = () => 0): Sink & { closed: number } {
  return {
    name,
    closed: 0,
    async write(fd) {
      log.push(`${name} start ${fd.frame.seq}`);
      await sleep(delay(fd.frame.seq));
      log.push(`${name} end ${fd.frame.seq}`);
    },
    async close() {
      this.closed++;
    },
  };
}

describe('writeSinks', () => {
  it('writes each frame to every sink, and the next frame only after all of them finished', async () => {
    const log: string[] = [];
    // Sink a is slow on frame 0: frame 1 must still wait for it, in both sinks.
    const a = loggingSink('a', log, (seq) => (seq === 0 ? 30 : 0));
    const b = loggingSink('b', log);
    const out = await lastValueFrom(from([item(0), item(1), item(2)]).pipe(writeSinks([a, b]), toArray()));
    expect((out as FrameDetections[]).map((fd) => fd.frame.seq)).to.deep.equal([0, 1, 2]);
    expect(log).to.deep.equal([
      'a start 0', 'b start 0', 'b end 0', 'a end 0',
      'a start 1', 'b start 1', 'a end 1', 'b end 1',
      'a start 2', 'b start 2', 'a end 2', 'b end 2',
    ]);
    expect(a.closed + b.closed, 'closing is the caller\'s job').to.equal(0);
  });

  it('emits each frame only once it is written', async () => {
    const log: string[] = [];
    const src = new Subject<FrameDetections>();
    const done = new Promise<void>((resolve) => {
      src.pipe(writeSinks([loggingSink('s', log, () => 10)])).subscribe({ next: (fd) => log.push(`emit ${(fd as FrameDetections).frame.seq}`), complete: resolve });
    });
    src.next(item(0));
    src.next(item(1));
    src.complete();
    await done;
    expect(log).to.deep.equal(['s start 0', 's end 0', 'emit 0', 's start 1', 's end 1', 'emit 1']);
  });

  it('records the time spent writing as the encode timing, keeping the other timings', async () => {
    const records: PipelineRecord[] = await lastValueFrom(from([item(0)]).pipe(writeSinks([loggingSink('slow', [], () => 25)]), toArray()));
    const fd = records[0] as FrameDetections;
    expect(fd.timings.inference).to.equal(3);
    expect(fd.timings.encode).to.be.at.least(20).and.below(1000);
    expect(fd.frame.seq).to.equal(0);
  });

  it('with no sinks passes frames through untouched, without an encode timing', async () => {
    const input = item(0);
    const records: PipelineRecord[] = await lastValueFrom(from([input]).pipe(writeSinks([]), toArray()));
    const fd = records[0] as FrameDetections;
    expect(fd).to.equal(input);
    expect(fd.timings).to.not.have.property('encode');
  });

  it('a failing sink errors the stream with its error, and no later frame is written', async () => {
    const log: string[] = [];
    const boom = new Error('disk full');
    const failing: Sink = {
      name: 'failing',
      async write(fd) {
        if (fd.frame.seq === 1) throw boom;
      },
      async close() {},
    };
    const emitted: number[] = [];
    let error: unknown;
    await new Promise<void>((resolve) => {
      from([item(0), item(1), item(2)]).pipe(writeSinks([failing, loggingSink('ok', log)])).subscribe({
        next: (fd) => emitted.push((fd as FrameDetections).frame.seq),
        error: (e: unknown) => {
          error = e;
          resolve();
        },
        complete: () => resolve(),
      });
    });
    expect(error).to.equal(boom);
    expect(emitted).to.deep.equal([0]);
    expect(log.filter((l) => l.includes(' 2'))).to.deep.equal([]);
  });
});

describe('writeSinks: events', () => {
  it('sends events only to the sinks that take them, in stream order after their frame', async () => {
    const log: string[] = [];
    const frameOnly = loggingSink('video', log);
    const withEvents: Sink = {
      ...loggingSink('jsonl', log),
      async writeEvent(e) {
        if (e.kind === 'track') log.push(`jsonl event ${e.event} ${e.trackId}`);
      },
    };
    const start: TrackRecord = {
      kind: 'track', event: 'start', source: 's', trackId: 7, label: 'face', classId: 1,
      firstSeq: 0, lastSeq: 1, firstPtsMs: 0, lastPtsMs: 40, frames: 2, maxScore: 0.9, box: [0.1, 0.1, 0.2, 0.2],
    };
    const out = await lastValueFrom(from<PipelineRecord[]>([item(0), start, item(1)]).pipe(writeSinks([frameOnly, withEvents]), toArray()));
    expect(out[1]).to.equal(start);
    expect(log.filter((l) => !l.includes('start ') || l.includes('event'))).to.deep.equal([
      'video end 0', 'jsonl end 0', 'jsonl event start 7', 'video end 1', 'jsonl end 1',
    ]);
  });
});
