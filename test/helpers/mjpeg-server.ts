/**
 * An HTTP MJPEG camera for live-source tests: node:http on 127.0.0.1 and a free port, serving
 * multipart/x-mixed-replace JPEGs (made once with the bundled ffmpeg) at a fixed rate, looping.
 * Like rtsp-server.ts: kill() drops every connection mid-stream, restart() comes back on the same
 * port (optionally with another size), stall() keeps connections open but sends nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { FFMPEG_BIN } from './media.js';

const run = promisify(execFile);
const BOUNDARY = 'ssdpipeframe';

/** What the server serves. */
export interface MjpegServerOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Distinct JPEGs in the loop (default 25). */
  frames?: number;
}

/** A running test MJPEG server; the stream is at `url`. */
export class MjpegTestServer {
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly streams = new Set<http.ServerResponse>();
  private jpegs: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;
  private next = 0;
  private stalled = false;
  private boundPort = 0;

  private constructor(private options: Required<MjpegServerOptions>) {}

  /** Starts a server on a free port of 127.0.0.1. */
  static async start(options: MjpegServerOptions = {}): Promise<MjpegTestServer> {
    const s = new MjpegTestServer({ width: 160, height: 120, fps: 25, frames: 25, ...options });
    await s.launch(0);
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The stream's URL (a path ssdpipe classifies as MJPEG). */
  get url(): string {
    return `http://127.0.0.1:${this.boundPort}/mjpeg`;
  }

  /** Drops every connection at once and stops listening, as a camera losing power. */
  async kill(): Promise<void> {
    if (!this.server) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.streams.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Comes back on the same port, optionally with another size. */
  async restart(changes: Pick<MjpegServerOptions, 'width' | 'height' | 'fps'> = {}): Promise<void> {
    await this.kill();
    this.options = { ...this.options, ...changes };
    await this.launch(this.boundPort);
  }

  /** Keeps the connections open but sends no more frames. */
  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
  }

  /** Stops for good. */
  stop(): Promise<void> {
    return this.kill();
  }

  private async launch(port: number): Promise<void> {
    this.jpegs = await makeJpegs(this.options);
    const server = http.createServer((req, res) => {
      if (req.url !== '/mjpeg') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': `multipart/x-mixed-replace;boundary=${BOUNDARY}`,
        'Cache-Control': 'no-cache',
        Connection: 'close',
      });
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as { port: number }).port;
    this.timer = setInterval(() => this.tick(), 1000 / this.options.fps);
  }

  private tick(): void {
    if (this.stalled || this.streams.size === 0) return;
    const jpeg = this.jpegs[this.next++ % this.jpegs.length];
    const head = `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
    for (const res of this.streams) {
      res.write(head);
      res.write(jpeg);
      res.write('\r\n');
    }
  }
}

async function makeJpegs(o: Required<MjpegServerOptions>): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-mjpeg-'));
  try {
    await run(FFMPEG_BIN, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`,
      '-frames:v', String(o.frames), '-q:v', '5', path.join(dir, '%04d.jpg')]);
    const names = (await readdir(dir)).sort();
    return await Promise.all(names.map((n) => readFile(path.join(dir, n))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
