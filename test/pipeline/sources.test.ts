import { expect } from 'chai';
import { OptionError } from '../../src/errors.js';
import { resolveSources } from '../../src/pipeline/sources.js';

describe('resolveSources', () => {
  it("standard input ('-') is read like a file, with the id 'stdin' unless named", () => {
    const [stdin, file] = resolveSources(['-', 'clip.mp4']);
    expect(stdin).to.deep.include({ id: 'stdin', input: '-', kind: 'stdin', live: false });
    expect(file).to.deep.include({ id: 'clip.mp4', kind: 'file', live: false });
    expect(resolveSources([{ name: 'pipe', input: '-' }])[0].id).to.equal('pipe');
  });

  it("two '-' inputs are an OptionError: standard input is one stream", () => {
    expect(() => resolveSources(['-', 'a.mp4', '-'])).to.throw(OptionError, /expected standard input \(-\) at most once/);
  });
});
