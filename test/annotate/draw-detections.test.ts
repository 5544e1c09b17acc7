import { expect } from 'chai';
import { DEFAULT_PALETTE, detectionColor, drawDetections, labelText, resolveDrawStyle } from '../../src/annotate/draw-detections.js';
import { trackColor, type Rgb } from '../../src/annotate/track-color.js';
import { TrackTrails } from '../../src/annotate/track-trails.js';
import type { Detection } from '../../src/detection.js';
import { OptionError } from '../../src/errors.js';
import type { Frame } from '../../src/frame.js';

const BG = 100;

function grayFrame(width: number, height: number): Frame {
  return { source: 'test', seq: 0, ptsMs: 0, width, height, data: new Uint8Array(width * height * 3).fill(BG) };
}

function det(box: [number, number, number, number], extra: Partial<Detection> = {}): Detection {
  return { classId: 0, label: 'face', score: 0.9321, box, trackId: null, ...extra };
}

function px(data: Uint8Array, width: number, x: number, y: number): [number, number, number] {
  const i = (y * width + x) * 3;
  return [data[i], data[i + 1], data[i + 2]];
}

function isBg(p: readonly number[]): boolean {
  return p[0] === BG && p[1] === BG && p[2] === BG;
}

/** Bounding rectangle [x1, y1, x2, y2) of every pixel that differs from `before`, or null. */
function changedRect(before: Uint8Array, after: Uint8Array, width: number): [number, number, number, number] | null {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (let i = 0; i < before.length; i += 3) {
    if (before[i] === after[i] && before[i + 1] === after[i + 1] && before[i + 2] === after[i + 2]) continue;
    const p = i / 3;
    const x = p % width, y = Math.floor(p / width);
    x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x + 1); y2 = Math.max(y2, y + 1);
  }
  return x1 === Infinity ? null : [x1, y1, x2, y2];
}

describe('drawDetections', () => {
  it('returns an equal copy when there are no detections', () => {
    const frame = grayFrame(64, 48);
    const out = drawDetections(frame, []);
    expect(out).to.not.equal(frame.data);
    expect(out.length).to.equal(frame.data.length);
    expect(Buffer.from(out).equals(Buffer.from(frame.data))).to.equal(true);
  });

  it('draws the outline on the box edges, inward, and nothing outside or deep inside', () => {
    const frame = grayFrame(320, 180);
    const out = drawDetections(frame, [det([0.25, 0.25, 0.75, 0.75])], { labels: false, lineWidth: 3 });
    const color = DEFAULT_PALETTE[0];
    // Box pixels: x 80..240, y 45..135 (exclusive ends).
    expect(changedRect(frame.data, out, 320)).to.deep.equal([80, 45, 240, 135]);
    for (const [x, y] of [[80, 45], [82, 90], [239, 134], [237, 100], [160, 45], [160, 47], [160, 134], [160, 132]]) {
      expect(px(out, 320, x, y), `edge pixel ${x},${y}`).to.deep.equal([...color]);
    }
    for (const [x, y] of [[83, 90], [236, 90], [160, 48], [160, 131], [160, 90]]) {
      expect(isBg(px(out, 320, x, y)), `interior pixel ${x},${y}`).to.equal(true);
    }
  });

  it('draws into a given buffer exactly what it would draw into a new one', () => {
    const frame = grayFrame(320, 180);
    const dets = [det([0.1, 0.2, 0.5, 0.9]), det([0.6, 0.1, 0.9, 0.4], { trackId: 3 })];
    const fresh = drawDetections(frame, dets);
    const reused = new Uint8Array(frame.data.length).fill(7);
    expect(drawDetections(frame, dets, {}, reused)).to.equal(reused);
    expect(Buffer.from(reused).equals(Buffer.from(fresh))).to.equal(true);
    expect(() => drawDetections(frame, dets, {}, new Uint8Array(10))).to.throw(OptionError, /into/);
  });

  it('never modifies the input frame', () => {
    const frame = grayFrame(320, 180);
    const copy = new Uint8Array(frame.data);
    drawDetections(frame, [det([0.1, 0.2, 0.5, 0.9]), det([0.6, 0.1, 0.9, 0.4], { trackId: 3 })]);
    expect(Buffer.from(frame.data).equals(Buffer.from(copy))).to.equal(true);
  });

  it('draws a filled tag with text above the box', () => {
    const frame = grayFrame(320, 180);
    const d = det([0.25, 0.5, 0.75, 0.9], { classId: 2 }); // yellow: black text
    const out = drawDetections(frame, [d], { lineWidth: 2, fontSize: 14 });
    const color = detectionColor(d);
    // Box top is y = 90; the tag is the changed region above it, starting at the box's left x = 80.
    const rect = changedRect(frame.data, out, 320)!;
    expect(rect[0]).to.equal(80);
    expect(rect[1]).to.be.lessThan(90).and.greaterThan(60);
    let fill = 0, text = 0, dark = 0;
    for (let y = rect[1]; y < 90; y++) {
      for (let x = 80; x < 240; x++) {
        const p = px(out, 320, x, y);
        if (isBg(p)) continue;
        if (p[0] === color[0] && p[1] === color[1] && p[2] === color[2]) fill++;
        else text++;
        if (p[0] < 60 && p[1] < 60 && p[2] < 60) dark++;
      }
    }
    expect(fill, 'tag fill pixels').to.be.greaterThan(200);
    expect(text, 'text pixels').to.be.greaterThan(30);
    expect(dark, 'dark glyph pixels on a light tag').to.be.greaterThan(10);
  });

  it('keeps the tag inside the frame: inside the box at the top edge, shifted left at the right edge', () => {
    const frame = grayFrame(320, 180);
    const d = det([0.95, 0, 1, 0.5], { label: 'a-rather-long-label', trackId: 12 });
    const out = drawDetections(frame, [d], { lineWidth: 2 });
    const rect = changedRect(frame.data, out, 320)!;
    expect(rect[1]).to.equal(0); // nothing to draw above y = 0: the tag sits inside the box
    expect(rect[2]).to.equal(320);
    expect(rect[0]).to.be.lessThan(304 - 50); // the tag is wider than the 16 px box and moved left
    // Left of the box, the changed pixels are the tag only, in its top rows.
    const below = changedRect(frame.data.subarray(40 * 320 * 3), out.subarray(40 * 320 * 3), 320)!;
    expect(below[0]).to.equal(304);
  });

  it('clips boxes that run past the frame and draws tiny boxes as at least one pixel', () => {
    const frame = grayFrame(33, 21); // odd size
    const out = drawDetections(frame, [det([-0.2, -0.1, 1.3, 1.2]), det([0.5, 0.5, 0.5, 0.5])], { labels: false, lineWidth: 1 });
    const color = [...DEFAULT_PALETTE[0]];
    for (const [x, y] of [[0, 0], [32, 0], [0, 20], [32, 20], [16, 0], [0, 10]]) expect(px(out, 33, x, y)).to.deep.equal(color);
    expect(px(out, 33, 17, 11)).to.deep.equal(color); // the zero-size box at (16.5, 10.5)
    expect(isBg(px(out, 33, 10, 5))).to.equal(true);
    // A tag larger than a tiny frame is clipped to it.
    const tiny = drawDetections(grayFrame(5, 3), [det([0, 0, 1, 1], { label: 'person', trackId: 1 })]);
    expect(tiny.length).to.equal(5 * 3 * 3);
  });

  it('colours by track id when tracked, else by class', () => {
    const a = det([0, 0, 1, 1], { classId: 1, trackId: 4 });
    const b = det([0, 0, 1, 1], { classId: 1, trackId: 5 });
    const c = det([0, 0, 1, 1], { classId: 3, trackId: 4 });
    expect(detectionColor(a)).to.not.deep.equal(detectionColor(b));
    expect(detectionColor(a)).to.deep.equal(detectionColor(c));
    expect(detectionColor(a)).to.deep.equal(trackColor(4));
    // A custom palette colours classes only; tracked detections keep their track colour.
    expect(detectionColor(a, [[1, 2, 3]])).to.deep.equal(trackColor(4));
    const tracked = drawDetections(grayFrame(20, 20), [a], { labels: false, palette: [[1, 2, 3]] });
    expect(px(tracked, 20, 0, 0)).to.deep.equal([...trackColor(4)]);
    expect(detectionColor(det([0, 0, 1, 1], { classId: 3 }))).to.deep.equal(DEFAULT_PALETTE[3]);
    const palette: Rgb[] = [[1, 2, 3], [4, 5, 6]];
    expect(detectionColor(det([0, 0, 1, 1], { classId: 5 }), palette)).to.deep.equal([4, 5, 6]);
    const out = drawDetections(grayFrame(20, 20), [det([0, 0, 1, 1], { classId: 5 })], { labels: false, palette });
    expect(px(out, 20, 0, 0)).to.deep.equal([4, 5, 6]);
  });

  it('formats the tag text as "label score" with 2 decimals, led by #trackId when tracked', () => {
    const cases: [Partial<Detection>, string][] = [
      [{}, 'face 0.93'],
      [{ label: 'person', score: 0.5, trackId: 7 }, '#7 person 0.50'],
      [{ label: 'person', score: 0.934, trackId: 12, confirmed: true }, '#12 person 0.93'],
      [{ label: 'person', score: 0.934, trackId: 12, confirmed: false }, '#12 person 0.93'], // tentative: same text, dashed box
      [{ label: 'car', score: 1, trackId: 1000 }, '#1000 car 1.00'],
    ];
    for (const [extra, text] of cases) expect(labelText(det([0, 0, 1, 1], extra)), JSON.stringify(extra)).to.equal(text);
  });

  it('draws a tentative track (confirmed: false) with a dashed outline, a confirmed one solid', () => {
    const frame = grayFrame(100, 60);
    const box: [number, number, number, number] = [0.1, 0.1, 0.9, 0.9]; // x 10..90, y 6..54
    const color = [...trackColor(3)];
    const solid = drawDetections(frame, [det(box, { trackId: 3, confirmed: true })], { labels: false, lineWidth: 2 });
    const dashed = drawDetections(frame, [det(box, { trackId: 3, confirmed: false })], { labels: false, lineWidth: 2 });
    // Dashes of 6 px, gaps of 4 px from each edge's first corner: top edge x 10..15 on, 16..19 off, 20..25 on ...
    for (const x of [10, 15, 20, 25, 30, 89]) expect(px(dashed, 100, x, 6), `top dash at x ${x}`).to.deep.equal(color);
    for (const x of [16, 19, 26, 29]) expect(isBg(px(dashed, 100, x, 6)), `top gap at x ${x}`).to.equal(true);
    for (const y of [6, 11, 16, 53]) expect(px(dashed, 100, 10, y), `left dash at y ${y}`).to.deep.equal(color);
    for (const y of [12, 15]) expect(isBg(px(dashed, 100, 10, y)), `left gap at y ${y}`).to.equal(true);
    // Every corner is drawn; the solid box has no gaps.
    for (const [x, y] of [[10, 6], [89, 6], [10, 53], [89, 53]]) expect(px(dashed, 100, x, y)).to.deep.equal(color);
    for (const x of [16, 19, 26, 29]) expect(px(solid, 100, x, 6)).to.deep.equal(color);
    // An untracked detection is never dashed, whatever confirmed says.
    const untracked = drawDetections(frame, [det(box, { confirmed: false })], { labels: false, lineWidth: 2 });
    expect(px(untracked, 100, 16, 6)).to.deep.equal([...DEFAULT_PALETTE[0]]);
  });

  it('draws each tracked detection\'s trail under the boxes, in its colour, and no trail without trails', () => {
    const frame = (seq: number): Frame => ({ ...grayFrame(100, 60), seq, ptsMs: seq * 40 });
    const trails = new TrackTrails({ length: 3 });
    // Track 5 moves right along y = 0.5 (bottom-centre), its box 10 px wide and 20 px tall.
    const at = (cx: number): Detection => det([cx - 0.05, 1 / 6, cx + 0.05, 0.5], { trackId: 5 });
    for (const [seq, cx] of [[0, 0.2], [1, 0.4], [2, 0.6]] as const) trails.update(frame(seq), [at(cx)]);
    const dets = [at(0.6)];
    const out = drawDetections(frame(2), dets, { labels: false, lineWidth: 1 }, undefined, trails);
    const color = trackColor(5);
    const blend = (a: number): number[] => color.map((c) => (BG * (256 - a) + c * a + 128) >> 8);
    // Points (20, 30) -> (40, 30) -> (60, 30): the older segment at half opacity, the newer solid.
    for (const x of [20, 30, 40]) expect(px(out, 100, x, 30), `old segment x ${x}`).to.deep.equal(blend(128));
    for (const x of [41, 50, 54]) expect(px(out, 100, x, 30), `new segment x ${x}`).to.deep.equal([...color]);
    expect(isBg(px(out, 100, 19, 30))).to.equal(true);
    expect(isBg(px(out, 100, 30, 29)) && isBg(px(out, 100, 30, 31))).to.equal(true);
    // The box's bottom row is y = 29; the trail ends under the box, at x = 60.
    expect(px(out, 100, 60, 30)).to.deep.equal([...color]);
    // Without trails, or for an untracked detection, the same frame has no trail.
    expect(isBg(px(drawDetections(frame(2), dets, { labels: false, lineWidth: 1 }), 100, 30, 30))).to.equal(true);
    const untracked = drawDetections(frame(2), [det([0.55, 1 / 6, 0.65, 0.5])], { labels: false, lineWidth: 1 }, undefined, trails);
    expect(isBg(px(untracked, 100, 30, 30))).to.equal(true);
  });

  it('fills in defaults that scale with the frame size', () => {
    expect(resolveDrawStyle(1280, 720)).to.deep.include({ lineWidth: 3, fontSize: 18, labels: true });
    expect(resolveDrawStyle(320, 180)).to.deep.include({ lineWidth: 2, fontSize: 11 });
    expect(resolveDrawStyle(3840, 2160, { lineWidth: 1 })).to.deep.include({ lineWidth: 1, fontSize: 54 });
  });

  it('rejects a bad style with OptionError', () => {
    expect(() => resolveDrawStyle(8, 8, { fontSize: 1 })).to.throw(OptionError, /fontSize/);
    expect(() => drawDetections(grayFrame(8, 8), [det([0, 0, 1, 1])], { lineWidth: 0 })).to.throw(OptionError, /lineWidth/);
    expect(() => drawDetections(grayFrame(8, 8), [det([0, 0, 1, 1])], { palette: [] })).to.throw(OptionError, /palette/);
  });
});
