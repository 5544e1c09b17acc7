import { expect } from 'chai';
import { drawTrail } from '../../src/annotate/draw-trail.js';
import type { Rgb } from '../../src/annotate/track-color.js';

const BG = 100;
const RED: Rgb = [250, 0, 0];

function frame(width: number, height: number): Uint8Array {
  return new Uint8Array(width * height * 3).fill(BG);
}

function px(data: Uint8Array, width: number, x: number, y: number): number[] {
  const i = (y * width + x) * 3;
  return [data[i], data[i + 1], data[i + 2]];
}

/** RED blended over BG at opacity a / 256, as drawTrail rounds it. */
function blend(a: number): number[] {
  return RED.map((c) => (BG * (256 - a) + c * a + 128) >> 8);
}

/** Every changed pixel as 'x,y'. */
function changed(data: Uint8Array, width: number): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i < data.length; i += 3) {
    if (data[i] !== BG || data[i + 1] !== BG || data[i + 2] !== BG) set.add(`${(i / 3) % width},${Math.floor(i / 3 / width)}`);
  }
  return set;
}

describe('drawTrail', () => {
  it('draws a polyline whose segments fade with age: segment k of m at opacity (k + 1) / m', () => {
    const out = frame(40, 20);
    // Pixels (4, 10) -> (12, 10) -> (20, 10) -> (28, 10): opacities 1/3, 2/3, 1.
    drawTrail(out, 40, 20, [0.1, 0.5, 0.3, 0.5, 0.5, 0.5, 0.7, 0.5], RED, 1);
    const golden: [number, number[]][] = [
      [4, blend(85)], [8, blend(85)], [12, blend(85)],
      [13, blend(171)], [20, blend(171)],
      [21, [...RED]], [28, [...RED]],
    ];
    for (const [x, rgb] of golden) expect(px(out, 40, x, 10), `x ${x}`).to.deep.equal(rgb);
    expect(blend(85)).to.deep.equal([150, 67, 67]); // the oldest segment is faint, not gone
    // Exactly the 25 pixels x 4..28 of row 10, each blended once.
    expect(changed(out, 40).size).to.equal(25);
    expect(px(out, 40, 3, 10)).to.deep.equal([BG, BG, BG]);
    expect(px(out, 40, 29, 10)).to.deep.equal([BG, BG, BG]);
  });

  it('draws a diagonal as a connected Bresenham line and a thick line as a span across its major axis', () => {
    const thin = frame(10, 10);
    drawTrail(thin, 10, 10, [0.05, 0.05, 0.75, 0.35], RED, 1); // (0, 0) -> (7, 3), solid
    expect([...changed(thin, 10)].sort()).to.deep.equal(['0,0', '1,0', '2,1', '3,1', '4,2', '5,2', '6,3', '7,3'].sort());

    const thick = frame(10, 10);
    drawTrail(thick, 10, 10, [0.25, 0.05, 0.25, 0.95], RED, 3); // vertical (2, 0) -> (2, 9): x 1..3
    const set = changed(thick, 10);
    expect(set.size).to.equal(30);
    for (let y = 0; y < 10; y++) for (const x of [1, 2, 3]) expect(set.has(`${x},${y}`), `${x},${y}`).to.equal(true);
  });

  it('clamps points into the frame and clips spans at its edges', () => {
    const out = frame(10, 6);
    // From above-left of the frame to below-right: (0, 0) -> (9, 5); thickness 4 reaches past the edges.
    drawTrail(out, 10, 6, [-0.5, -1, 2, 1.5], RED, 4);
    expect(px(out, 10, 0, 0)).to.deep.equal([...RED]);
    expect(px(out, 10, 9, 5)).to.deep.equal([...RED]);
    expect(out.length).to.equal(10 * 6 * 3);
  });

  it('draws nothing for fewer than two points, and one pixel for a trail that does not move', () => {
    for (const points of [[], [0.5, 0.5], [0.5, 0.5, 0.5]]) {
      const out = frame(8, 8);
      drawTrail(out, 8, 8, points, RED, 2);
      expect(changed(out, 8).size, JSON.stringify(points)).to.equal(0);
    }
    const still = frame(8, 8);
    drawTrail(still, 8, 8, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], RED, 1);
    expect([...changed(still, 8)]).to.deep.equal(['4,4']); // the first point once, at opacity 1/2
    expect(px(still, 8, 4, 4)).to.deep.equal(blend(128));
  });
});
