import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// --classes and --class-scores end to end: the CLI (src/cli.ts under tsx, so no build is needed)
// on a demo photo, as flags of `detect` and as fields of a pipeline file for `run`.

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

interface Det {
  label: string;
  score: number;
  bbox: number[];
}

describe('cli: --classes and --class-scores (flags and pipeline-file fields)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-class-options-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a per-class threshold from the CLI and from a pipeline file keeps exactly the faces at or above it', async () => {
    const low = await cli(['detect', PHOTO, '--jsonl', '-', '-q', '--no-track', '--classes', 'face', '--class-scores', 'face=0.05']);
    expect(low.code, low.stderr).to.equal(0);
    const lowDets = (JSON.parse(low.stdout.trim()) as { detections: Det[] }).detections;
    expect(lowDets.some((d) => d.score < 0.5), 'face=0.05 goes below the model\'s 0.5').to.equal(true);
    expect(lowDets.every((d) => d.label === 'face' && d.score >= 0.05)).to.equal(true);

    const file = path.join(dir, 'faces.json');
    await writeFile(file, JSON.stringify({ input: PHOTO, track: false, classes: ['face'], classScores: { face: 0.99 }, outputs: { jsonl: 'out.jsonl' } }));
    const high = await cli(['run', file, '-q']);
    expect(high.code, high.stderr).to.equal(0);
    const highDets = (JSON.parse((await readFile(path.join(dir, 'out.jsonl'), 'utf8')).trim()) as { detections: Det[] }).detections;
    // Hard NMS keeps boxes in score order, so raising the threshold only removes the weaker ones.
    const strip = (d: Det): string => `${d.label} ${d.score.toFixed(4)} ${d.bbox.map((v) => v.toFixed(1)).join(',')}`;
    expect(highDets.map(strip)).to.deep.equal(lowDets.filter((d) => d.score >= 0.99).map(strip));
    expect(highDets.length).to.be.within(1, lowDets.length - 1);
  });

  it('an unknown label is a usage error naming it and listing the model\'s labels', async () => {
    const r = await cli(['detect', PHOTO, '--jsonl', '-', '-q', '--classes', 'face,person']);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim().split('\n')[0]).to.match(/--classes: expected a label or class id of model face: face \(1\), received "person"/);
    expect(r.stdout).to.equal('');
  });
});
