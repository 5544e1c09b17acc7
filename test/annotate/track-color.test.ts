import { expect } from 'chai';
import { trackColor, type Rgb } from '../../src/annotate/track-color.js';

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

describe('trackColor', () => {
  it('gives golden colours for the first ids (hue 0.1 + id / phi turns, saturation 0.85, value 0.95)', () => {
    // Hues: id 1 -> 0.718 (violet), 2 -> 0.336 (green), 3 -> 0.954 (red-pink), 0 -> 0.1 (orange).
    const golden: [number, Rgb][] = [
      [0, [242, 160, 36]], // v = 0.95 -> 242, p = 0.95 x 0.15 -> 36, t = 0.95 x (1 - 0.4 x 0.85) -> 160
      [1, [100, 36, 242]],
      [2, [36, 242, 40]],
      [3, [242, 36, 93]],
    ];
    for (const [id, rgb] of golden) expect(trackColor(id), `id ${id}`).to.deep.equal(rgb);
  });

  it('is stable: the same id always gets the same colour, also as a non-integer', () => {
    for (const id of [1, 7, 12, 99, 12345]) {
      expect(trackColor(id)).to.deep.equal(trackColor(id));
      expect(trackColor(id + 0.4)).to.deep.equal(trackColor(id));
    }
  });

  it('keeps neighbouring ids far apart: ids at most 5 apart differ by >= 75 in RGB over ids 1..1000', () => {
    let worst = Infinity;
    let pair: [number, number] = [0, 0];
    for (let a = 1; a <= 1000; a++) {
      for (let d = 1; d <= 5; d++) {
        const dist = distance(trackColor(a), trackColor(a + d));
        if (dist < worst) [worst, pair] = [dist, [a, a + d]];
      }
    }
    expect(worst, `closest pair ${pair}`).to.be.at.least(75);
  });

  it('gives 20 on-screen ids 20 distinct colours, every channel 0..255', () => {
    const seen = new Set<string>();
    for (let id = 1; id <= 20; id++) {
      const c = trackColor(id);
      for (const v of c) expect(Number.isInteger(v) && v >= 0 && v <= 255, `id ${id}: ${c}`).to.equal(true);
      seen.add(c.join(','));
      for (let other = 1; other < id; other++) expect(distance(c, trackColor(other)), `ids ${other}, ${id}`).to.be.greaterThan(30);
    }
    expect(seen.size).to.equal(20);
  });
});
