import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { heapFlag, heapLine } from '../src/heap-flag.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('heap-flag', () => {
  it('heapFlag finds the initial old-space flag among node\'s arguments, with its value', () => {
    expect(heapFlag(['--import', 'tsx', '--initial-old-space-size=128'])).to.equal('--initial-old-space-size=128');
    expect(heapFlag(['--max-old-space-size=4096', '--enable-source-maps'])).to.equal(undefined);
    expect(heapFlag([])).to.equal(undefined);
  });

  it('heapLine says which heap node runs with, and what the ssdpipe command would add', () => {
    expect(heapLine(['--initial-old-space-size=128'])).to.equal('v8 heap: --initial-old-space-size=128 (fewer full GCs per frame)');
    const plain = heapLine(['--max-old-space-size=4096']);
    expect(plain).to.match(/^v8 heap: default; /);
    expect(plain).to.include('bin/ssdpipe');
    expect(plain).to.include('--initial-old-space-size=128');
  });

  it('names the flag bin/ssdpipe really passes', () => {
    const launcher = readFileSync(path.join(ROOT, 'bin', 'ssdpipe'), 'utf8');
    const flag = /--initial-old-space-size=\d+/.exec(launcher)?.[0];
    expect(flag, 'bin/ssdpipe sets an initial old-space size').to.be.a('string');
    expect(heapLine([])).to.include(`adds ${flag},`);
    expect(heapFlag(['--stack-size=2000', flag!])).to.equal(flag);
  });
});
