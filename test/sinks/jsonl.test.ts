import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { FrameDetections } from '../../src/detection.js';
import { OutputError } from '../../src/errors.js';
import { openJsonlSink, toFrameRecord } from '../../src/sinks/jsonl.js';

function item(seq: number, boxes: Array<[number, number, number, number]>, trackId: number | null = null): FrameDetections {
  return {
    frame: { source: 'people.mp4', seq, ptsMs: seq * 40, width: 1280, height: 720, data: new Uint8Array(0) },
    detections: boxes.map((box) => ({ classId: 1, label: 'face', score: 0.93456, box, trackId })),
    timings: {},
  };
}

describe('toFrameRecord', () => {
  it('writes the documented record with pixel boxes', () => {
    const rec = toFrameRecord(item(12, [[0.25, 0.5, 0.5, 1]], 7));
    expect(rec).to.deep.equal({
      type: 'frame',
      source: 'people.mp4',
      frame: 12,
      pts_ms: 480,
      width: 1280,
      height: 720,
      detections: [{ label: 'face', class_id: 1, score: 0.9346, bbox: [320, 360, 640, 720], track_id: 7 }],
    });
  });

  it('clips to the frame and drops boxes that collapse', () => {
    const rec = toFrameRecord(item(0, [[-0.1, -0.2, 1.5, 0.25], [0.5, 0.5, 0.500001, 0.6]]));
    expect(rec.detections).to.have.length(1);
    expect(rec.detections[0].bbox).to.deep.equal([0, 0, 1280, 180]);
    for (const d of rec.detections) {
      const [x1, y1, x2, y2] = d.bbox;
      expect(x1).to.be.at.least(0);
      expect(x2).to.be.above(x1).and.at.most(1280);
      expect(y2).to.be.above(y1).and.at.most(720);
    }
  });
});

describe('openJsonlSink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-jsonl-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one complete line per frame, creating the directory', async () => {
    const file = path.join(dir, 'sub', 'out.jsonl');
    const sink = await openJsonlSink({ target: file });
    for (let i = 0; i < 100; i++) await sink.write(item(i, [[0.1, 0.1, 0.2, 0.2]]));
    await sink.close();
    await sink.close(); // idempotent
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines.pop()).to.equal('');
    expect(lines).to.have.length(100);
    lines.forEach((l, i) => expect(JSON.parse(l).frame).to.equal(i));
  });

  it("'-' writes to the given stdout stream only", async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const sink = await openJsonlSink({ target: '-', stdout: out });
    await sink.write(item(0, []));
    await sink.close();
    expect(chunks.join('')).to.equal(JSON.stringify(toFrameRecord(item(0, []))) + '\n');
  });

  it('marks itself closed when the reader goes away (EPIPE) instead of failing', async () => {
    const out = new PassThrough();
    const sink = await openJsonlSink({ target: '-', stdout: out });
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await sink.write(item(0, []));
    expect(sink.closed).to.equal(true);
  });

  it('fails with a one-line OutputError when the path cannot be written', async () => {
    const blocker = path.join(dir, 'file');
    await writeFile(blocker, 'x');
    try {
      await openJsonlSink({ target: path.join(blocker, 'out.jsonl') });
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).to.be.instanceOf(OutputError);
      expect((err as Error).message).to.match(/^cannot write --jsonl .*file\/out\.jsonl: .*file is a file, not a folder$/).and.not.include('\n');
    }
    void chmod;
  });
});
