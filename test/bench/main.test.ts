import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The CLI's flags are parsed before any measurement, so a bad value must fail at once, by name.
const main = fileURLToPath(new URL('../../bench/main.ts', import.meta.url));
const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('bench/main.ts (npm run bench)', () => {
  it('lists its flags in --help', () => {
    const r = bench('--help');
    expect(r.status).to.equal(0);
    for (const flag of ['--out-dir', '--batches', '--threads', '--rounds', '--soak', '--engines']) expect(r.stdout).to.include(flag);
  });

  it('rejects a round count or a batch that is not an integer >= 1, naming the flag and the value', () => {
    const rounds = bench('--rounds', '0');
    expect(rounds.status).to.equal(1);
    expect(rounds.stderr).to.match(/--rounds expects an integer >= 1, received "0"/);
    const batches = bench('--engines', '--batches', '1,x');
    expect(batches.status).to.equal(1);
    expect(batches.stderr).to.match(/--batches expects an integer >= 1, received "x"/);
  });
});
