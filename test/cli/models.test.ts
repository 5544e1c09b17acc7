import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { findCatalogEntry, type TfliteZipCatalogEntry } from '../../src/model-io/model-catalog.js';
import type { ModelListing } from '../../src/model-io/list-models.js';
import { closedPort, startFileServer, type FileServer } from '../helpers/model-server.js';

// `ssdpipe models list` and `models pull` through the built CLI (dist/cli.js; npm test builds
// first), with the cache in a temp folder and SSDPIPE_MODEL_MIRROR pointing at a file server on
// 127.0.0.1 that serves generated models (and the real COCO .tflite from ../shared, zipped here).

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SHARED = path.resolve(ROOT, '..', 'shared', 'models', 'coco-ssd-mobilenet-v1-quant');
const PHOTO = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    // No proxy from the developer's environment: the servers are on 127.0.0.1.
    env: { ...process.env, HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).to.be.a('number').and.not.equal(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^ssdpipe: error: /).and.match(pattern);
  expect(r.stdout).to.equal('');
}

/** A small TF.js graph model in coco-ssd's file layout (model.json + two shards). */
function tfjsFiles(): Record<string, Uint8Array> {
  const weights = new Uint8Array(6000).map((_, i) => i % 251);
  const modelJson = { format: 'graph-model', modelTopology: {}, weightsManifest: [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: [{ name: 'w', shape: [1500], dtype: 'float32' }] }] };
  return { 'model.json': new TextEncoder().encode(JSON.stringify(modelJson)), 'group1-shard1of2': weights.subarray(0, 4000), 'group1-shard2of2': weights.subarray(4000) };
}

describe('ssdpipe models (CLI)', function () {
  this.timeout(120_000);
  let server: FileServer;
  let cacheDir: string;
  let env: Record<string, string>;

  before(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it first)`);
  });
  beforeEach(async () => {
    server = await startFileServer();
    cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-cli-models-'));
    env = { SSDPIPE_CACHE_DIR: cacheDir, SSDPIPE_MODEL_MIRROR: server.url };
  });
  afterEach(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('models list shows every model with its origin, input, classes, anchors and offline availability, and how to use model files', async () => {
    const r = await cli(['models', 'list'], env);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^NAME\s+FROM\s+INPUT\s+CLASSES\s+ANCHORS\s+OFFLINE\s+NOTE$/);
    expect(lines.find((l) => l.startsWith('face '))).to.match(/bundled, npm @vladmandic\/face-api\s+512x512\s+1\s+5118\s+yes$/);
    expect(lines.find((l) => l.startsWith('coco-ssd-mobilenet-v1-quant '))).to.match(
      /download, TensorFlow Lite \(TFLite zip\)\s+300x300\s+90\s+1917\s+no\s+ssdpipe models pull coco-ssd-mobilenet-v1-quant$/,
    );
    for (const name of ['coco-ssdlite-mobilenet-v2', 'coco-ssd-mobilenet-v1', 'coco-ssd-mobilenet-v2']) {
      expect(lines.find((l) => l.startsWith(`${name} `))).to.match(/@tensorflow-models\/coco-ssd \(TF\.js\)\s+300x300\s+90\s+1917\s+no\s+/);
    }
    expect(r.stdout).to.include('--model path/to/detect.tflite [--labels labelmap.txt]');
    expect(r.stdout).to.include('ssdpipe models export <model> -o model.onnx');
    expect(r.stdout).to.include(`Downloads go to ${path.join(cacheDir, 'models')}`);
    expect(server.requests).to.deep.equal([]); // listing never touches the network
  });

  it('models pull downloads through the mirror, prints the model file, and list then says it is available offline; a second pull makes no request', async () => {
    for (const [f, b] of Object.entries(tfjsFiles())) server.files.set(`/coco-ssd-mobilenet-v2/${f}`, b);
    const r = await cli(['models', 'pull', 'coco-ssd-mobilenet-v2'], env);
    expect(r.code, r.stderr).to.equal(0);
    const modelJson = path.join(cacheDir, 'models', 'coco-ssd-mobilenet-v2', 'model.json');
    expect(r.stdout).to.equal(`${modelJson}\n`);
    expect(r.stderr).to.equal(`ssdpipe: coco-ssd-mobilenet-v2: downloaded and verified in ${path.dirname(modelJson)}\n`); // no bar: stderr is not a TTY
    expect(server.requests).to.have.length(3);

    const list = await cli(['models', 'list', '--json'], env);
    expect(list.code, list.stderr).to.equal(0);
    const rows = JSON.parse(list.stdout) as ModelListing[];
    expect(rows.find((m) => m.name === 'coco-ssd-mobilenet-v2')).to.include({ offline: true, kind: 'download', classes: 90, anchors: 1917 });
    expect(rows.find((m) => m.name === 'coco-ssd-mobilenet-v1')).to.include({ offline: false });
    expect(rows.find((m) => m.name === 'face')).to.include({ offline: true, kind: 'bundled', anchors: 5118 });

    const again = await cli(['models', 'pull', 'coco-ssd-mobilenet-v2'], env);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stderr).to.include('already cached and verified');
    expect(server.requests).to.have.length(3);
  });

  it('a server error is one line naming the status and the URL', async () => {
    server.behaviour.set('/coco-ssd-mobilenet-v1/model.json', { status: 500 });
    const r = await cli(['models', 'pull', 'coco-ssd-mobilenet-v1'], env);
    expectOneLineError(r, new RegExp(`cannot download coco-ssd-mobilenet-v1: the server answered 500 Internal Server Error for ${server.url}/coco-ssd-mobilenet-v1/model.json \\(hint: the server failed`));
  });

  it('offline is one line saying the host could not be reached, with a hint', async () => {
    const port = await closedPort();
    const r = await cli(['models', 'pull', 'coco-ssd-mobilenet-v1-quant'], { ...env, SSDPIPE_MODEL_MIRROR: `http://127.0.0.1:${port}` });
    expectOneLineError(r, new RegExp(`127\\.0\\.0\\.1:${port} could not be reached \\(ECONNREFUSED.*\\(hint: are you offline\\?.*unzip it, and pass its detect\\.tflite to --model`));
  });

  it('an unknown name is refused before anything is downloaded', async () => {
    for (const [f, b] of Object.entries(tfjsFiles())) server.files.set(`/coco-ssd-mobilenet-v1/${f}`, b);
    const r = await cli(['models', 'pull', 'coco-ssd-mobilenet-v1', 'nope'], env);
    expectOneLineError(r, /no downloadable model is called "nope" \(hint: downloadable models: coco-ssd-mobilenet-v1-quant, /);
    expect(server.requests).to.deep.equal([]);
  });

  it('the COCO TFLite model: pull, list shows it cached, and detect --model <name> finds people in a photo', async function () {
    if (!existsSync(path.join(SHARED, 'ssd_mobilenet_v1.tflite'))) this.skip(); // the real model lives outside the repository (see its README)
    const entry = findCatalogEntry('coco-ssd-mobilenet-v1-quant') as TfliteZipCatalogEntry;
    const labels = readFileSync(path.join(SHARED, 'labelmap.txt'), 'utf8');
    server.files.set(`/${entry.name}/${entry.archive.file}`, zipSync({
      'detect.tflite': new Uint8Array(readFileSync(path.join(SHARED, 'ssd_mobilenet_v1.tflite'))),
      'labelmap.txt': new TextEncoder().encode(`???\n${labels}`),
    }));
    const pull = await cli(['models', 'pull', entry.name], env);
    expect(pull.code, pull.stderr).to.equal(0);
    expect(pull.stdout.trim()).to.equal(path.join(cacheDir, 'models', entry.name, 'detect.tflite'));

    const list = await cli(['models', 'list'], env);
    expect(list.stdout.split('\n').find((l) => l.startsWith(`${entry.name} `))).to.match(/300x300\s+90\s+1917\s+yes \(cached\)$/);

    const jsonl = path.join(cacheDir, 'photo.jsonl');
    const det = await cli(['detect', PHOTO, '--model', entry.name, '--jsonl', jsonl, '--quiet'], env);
    expect(det.code, det.stderr).to.equal(0);
    const record = JSON.parse((await readFile(jsonl, 'utf8')).trim().split('\n')[0]!) as { detections: { label: string; score: number }[] };
    expect(record.detections.filter((d) => d.label === 'person').length).to.be.at.least(1);
    expect(server.requests).to.have.length(1);
  });
});
