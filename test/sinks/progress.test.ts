import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { ProgressBar } from '../../src/sinks/progress.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { text: () => string };
  let buf = '';
  s.on('data', (c: Buffer) => (buf += c.toString()));
  (s as { isTTY: boolean }).isTTY = isTTY;
  s.text = () => buf;
  return s;
}

describe('ProgressBar', () => {
  it('renders percent, counts, fps and ETA for a known total', () => {
    const bar = new ProgressBar({ total: 200, stream: fakeStream(true) });
    const text = bar.render(50);
    expect(text).to.match(/^\[#{8}-{22}\]\s+25%\s+50\/200\s+[\d.]+ fps\s+ETA /);
  });

  it('renders counts and fps when the total is unknown', () => {
    expect(new ProgressBar({ total: null, stream: fakeStream(true) }).render(10)).to.match(/^10 frames\s+[\d.]+ fps/);
  });

  it('draws in place on a TTY, throttled, and clears the line at the end', () => {
    const s = fakeStream(true);
    const bar = new ProgressBar({ total: 10, stream: s, intervalMs: 10_000 });
    bar.update(1);
    bar.update(2); // within the interval: not drawn
    bar.finish();
    expect(s.text().match(/\r/g)).to.have.length(2);
    expect(s.text()).to.include('1/10').and.not.include('2/10');
  });

  it('writes nothing when the stream is not a TTY', () => {
    const s = fakeStream(false);
    const bar = new ProgressBar({ total: 10, stream: s });
    bar.update(5);
    bar.finish();
    expect(s.text()).to.equal('');
  });
});
