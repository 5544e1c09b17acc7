import { expect } from 'chai';
import { DownloadProgress } from '../../src/model-io/download-progress.js';

/** A stream that records what is written, TTY or not. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('model-io/download-progress', () => {
  it('renders bytes in MB, percent and a bar when the total is known, and only MB when not', () => {
    const bar = new DownloadProgress({ label: 'coco', stream: fakeStream(true), total: 4_000_000 });
    const line = bar.render(1_000_000);
    expect(line).to.match(/^coco {2}\[#{8}-{22}\] {2}25% {2}1\.0\/4\.0 MB {2}[\d.]+ MB\/s$/);
    bar.setTotal(undefined);
    expect(bar.render(2_500_000)).to.match(/^coco {2}2\.5 MB {2}[\d.]+ MB\/s$/);
  });

  it('draws on a TTY, clears the line when finished, and writes nothing elsewhere', () => {
    const tty = fakeStream(true);
    const bar = new DownloadProgress({ label: 'm', stream: tty, total: 10 });
    bar.add(5);
    bar.finish();
    expect(tty.text).to.match(/^\r.*50%.*\x1b\[K\r\x1b\[K$/);
    const pipe = fakeStream(false);
    const quiet = new DownloadProgress({ label: 'm', stream: pipe, total: 10 });
    quiet.add(5);
    quiet.finish();
    expect(pipe.text).to.equal('');
  });
});
