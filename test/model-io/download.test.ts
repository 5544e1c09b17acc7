import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelError } from '../../src/errors.js';
import { downloadFile, httpClient, proxyForUrl } from '../../src/model-io/download.js';
import { closedPort, startFileServer, startProxyServer, type FileServer } from '../helpers/model-server.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function rejection(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ModelError);
    return err as ModelError;
  }
  throw new Error('expected a ModelError');
}

describe('model-io/download', () => {
  const BODY = new Uint8Array(randomBytes(200_000));
  let server: FileServer;
  let dir: string;

  beforeEach(async () => {
    server = await startFileServer({ '/m/weights.bin': BODY });
    dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-download-'));
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads a file, checks its size and SHA-256, and leaves only the file', async () => {
    const dest = path.join(dir, 'weights.bin');
    let counted = 0;
    const got = await downloadFile(`${server.url}/m/weights.bin`, dest, {
      what: 'test', expected: { size: BODY.byteLength, sha256: sha256(BODY) }, onBytes: (n) => (counted += n),
    });
    expect(got).to.include({ path: dest, size: BODY.byteLength, sha256: sha256(BODY), resumedFrom: 0 });
    expect(got.validator).to.match(/^"[0-9a-f]{16}"$/);
    expect(sha256(await readFile(dest))).to.equal(sha256(BODY));
    expect(counted).to.equal(BODY.byteLength);
    expect(await readdir(dir)).to.deep.equal(['weights.bin']);
  });

  it('a SHA-256 mismatch is an E_WEIGHTS error naming both hashes, and leaves no file', async () => {
    const dest = path.join(dir, 'weights.bin');
    const wrong = 'ab'.repeat(32);
    const err = await rejection(downloadFile(`${server.url}/m/weights.bin`, dest, { what: 'test', expected: { sha256: wrong } }));
    expect(err.code).to.equal('E_WEIGHTS');
    expect(err.message).to.include(wrong).and.include(sha256(BODY));
    expect(err.hint).to.be.a('string');
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it('a size mismatch is an E_WEIGHTS error and leaves no file', async () => {
    const err = await rejection(downloadFile(`${server.url}/m/weights.bin`, path.join(dir, 'w'), { what: 'test', expected: { size: 10 } }));
    expect(err.code).to.equal('E_WEIGHTS');
    expect(err.message).to.include(`is ${BODY.byteLength} bytes, expected 10`);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  for (const [status, text, hint] of [[500, '500 Internal Server Error', /try again later/], [404, '404 Not Found', /not at that address/]] as const) {
    it(`a ${status} is an E_MODEL error naming the status and the URL, with a hint`, async () => {
      server.behaviour.set('/m/weights.bin', { status });
      const url = `${server.url}/m/weights.bin`;
      const err = await rejection(downloadFile(url, path.join(dir, 'w'), { what: 'coco-test' }));
      expect(err.code).to.equal('E_MODEL');
      expect(err.message).to.equal(`cannot download coco-test: the server answered ${text} for ${url}`);
      expect(err.hint).to.match(hint);
      expect(await readdir(dir)).to.deep.equal([]);
    });
  }

  it('no server at all (offline) is an E_MODEL error saying the host could not be reached', async () => {
    const port = await closedPort();
    const err = await rejection(downloadFile(`http://127.0.0.1:${port}/x`, path.join(dir, 'w'), { what: 'coco-test' }));
    expect(err.code).to.equal('E_MODEL');
    expect(err.message).to.equal(`cannot download coco-test: 127.0.0.1:${port} could not be reached (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(err.hint).to.match(/offline/);
  });

  it('an interrupted download keeps its .part and the next attempt asks only for the rest (Range + If-Range)', async () => {
    const url = `${server.url}/m/weights.bin`;
    const dest = path.join(dir, 'weights.bin');
    server.behaviour.set('/m/weights.bin', { cutAfter: 50_000 });
    const err = await rejection(downloadFile(url, dest, { what: 'test' }));
    expect(err.message).to.match(/was interrupted after \d+ bytes/);
    expect(err.hint).to.match(/resumes/);
    expect(existsSync(dest)).to.equal(false);
    const partSize = (await readFile(`${dest}.part`)).byteLength;
    expect(partSize).to.be.greaterThan(0).and.lessThan(BODY.byteLength);

    const got = await downloadFile(url, dest, { what: 'test', expected: { size: BODY.byteLength, sha256: sha256(BODY) } });
    expect(got.resumedFrom).to.equal(partSize);
    const last = server.requests[server.requests.length - 1]!;
    expect(last.range).to.equal(`bytes=${partSize}-`);
    expect(last.ifRange).to.equal(got.validator);
    expect(sha256(await readFile(dest))).to.equal(sha256(BODY));
    expect(await readdir(dir)).to.deep.equal(['weights.bin']);
  });

  it('a server that ignores Range gets the file whole, written from the start', async () => {
    const url = `${server.url}/m/weights.bin`;
    const dest = path.join(dir, 'weights.bin');
    server.behaviour.set('/m/weights.bin', { cutAfter: 50_000, noRanges: true });
    await rejection(downloadFile(url, dest, { what: 'test' }));
    const got = await downloadFile(url, dest, { what: 'test' });
    expect(server.requests[1]!.range).to.match(/^bytes=\d+-$/);
    expect(got.resumedFrom).to.equal(0);
    expect(sha256(await readFile(dest))).to.equal(sha256(BODY));
  });

  it('a part of a file that changed on the server is not spliced: If-Range gets the new file whole', async () => {
    const url = `${server.url}/m/weights.bin`;
    const dest = path.join(dir, 'weights.bin');
    server.behaviour.set('/m/weights.bin', { cutAfter: 50_000 });
    await rejection(downloadFile(url, dest, { what: 'test' }));
    const changed = new Uint8Array(randomBytes(120_000));
    server.files.set('/m/weights.bin', changed);
    const got = await downloadFile(url, dest, { what: 'test' });
    expect(got.resumedFrom).to.equal(0);
    expect(sha256(await readFile(dest))).to.equal(sha256(changed));
  });

  it('a part left by another URL is discarded', async () => {
    const dest = path.join(dir, 'weights.bin');
    await writeFile(`${dest}.part`, 'stale');
    await writeFile(`${dest}.part.json`, JSON.stringify({ url: 'http://elsewhere/x', validator: '"x"' }));
    const got = await downloadFile(`${server.url}/m/weights.bin`, dest, { what: 'test' });
    expect(got.resumedFrom).to.equal(0);
    expect(server.requests[0]!.range).to.equal(undefined);
    expect(sha256(await readFile(dest))).to.equal(sha256(BODY));
  });

  describe('proxies', () => {
    it('proxyForUrl picks HTTPS_PROXY or HTTP_PROXY by scheme and honours NO_PROXY', () => {
      const env = { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://q:2', NO_PROXY: 'localhost, .internal.example,mirror.example:8080' };
      expect(proxyForUrl('https://storage.googleapis.com/x', env)).to.equal('http://p:1');
      expect(proxyForUrl('http://storage.googleapis.com/x', env)).to.equal('http://q:2');
      expect(proxyForUrl('http://localhost:9/x', env)).to.equal(undefined);
      expect(proxyForUrl('https://a.internal.example/x', env)).to.equal(undefined);
      expect(proxyForUrl('http://mirror.example:8080/x', env)).to.equal(undefined);
      expect(proxyForUrl('http://mirror.example:8081/x', env)).to.equal('http://q:2');
      expect(proxyForUrl('https://x.example/', { https_proxy: 'http://lower:3', HTTPS_PROXY: 'http://upper:4' })).to.equal('http://lower:3');
      expect(proxyForUrl('https://x.example/', { NO_PROXY: '*', HTTPS_PROXY: 'http://p:1' })).to.equal(undefined);
      expect(proxyForUrl('https://x.example/', {})).to.equal(undefined);
    });

    it('downloads through the proxy named by HTTP_PROXY', async () => {
      const proxy = await startProxyServer();
      const url = `${server.url}/m/weights.bin`;
      const client = httpClient(url, { HTTP_PROXY: proxy.url });
      try {
        const got = await downloadFile(url, path.join(dir, 'weights.bin'), { what: 'test', dispatcher: client, expected: { sha256: sha256(BODY) } });
        expect(got.size).to.equal(BODY.byteLength);
        expect(proxy.seen).to.have.length(1);
        expect(proxy.seen[0]).to.equal(`CONNECT ${new URL(server.url).host}`);
      } finally {
        await client.close();
        await proxy.close();
      }
    });

    it('a proxy that is down is named in the error', async () => {
      const port = await closedPort();
      const url = `${server.url}/m/weights.bin`;
      const proxyUrl = `http://user:secret@127.0.0.1:${port}`;
      const client = httpClient(url, { HTTP_PROXY: proxyUrl });
      try {
        const err = await rejection(downloadFile(url, path.join(dir, 'w'), { what: 'test', dispatcher: client, proxy: proxyUrl }));
        expect(err.message).to.include(`through the proxy http://user:***@127.0.0.1:${port}`).and.not.include('secret');
        expect(err.hint).to.match(/HTTPS_PROXY/);
        expect(server.requests).to.have.length(0);
      } finally {
        await client.close();
      }
    });
  });
});
