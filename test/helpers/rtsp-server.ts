/**
 * A real RTSP server for live-source tests: test/helpers/rtsp-server.py (GStreamer's
 * GstRtspServer through python3-gi) on 127.0.0.1 and a free port, serving a moving H.264 test
 * pattern. The test owns it: kill() (SIGKILL, mid-stream), restart() on the same port, stall()
 * (the session stays up, no frames flow) and stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

/** The python that has GStreamer's gi bindings (Debian's python3-gi); override with SSDPIPE_TEST_PYTHON. */
export const TEST_PYTHON = process.env.SSDPIPE_TEST_PYTHON ?? '/usr/bin/python3';

const SCRIPT = fileURLToPath(new URL('./rtsp-server.py', import.meta.url));

/** What the server serves. */
export interface RtspServerOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Mount path (default '/test'). */
  path?: string;
  /** Basic auth: both must be given to require it. */
  user?: string;
  password?: string;
}

/** How long start() waits for the server to say READY. */
const START_TIMEOUT_MS = 10_000;

let availability: Promise<string | null> | undefined;

/**
 * Null when the RTSP server can run here, else why not (which package is missing), so a suite
 * can skip with that reason. Checked once per process.
 */
export function rtspServerUnavailable(): Promise<string | null> {
  availability ??= new Promise((resolve) => {
    const child = spawn(TEST_PYTHON, [SCRIPT, '--check'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', (err) => resolve(`${TEST_PYTHON} cannot run (${err.message}); install python3-gi`));
    child.on('close', () => {
      const line = out.trim().split('\n')[0] ?? '';
      if (line === 'OK') resolve(null);
      else resolve(`${line.replace(/^ERROR /, '') || 'the RTSP server check failed'}; install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly`);
    });
  });
  return availability;
}

/**
 * For a suite's before() hook: skips the whole suite when the RTSP server cannot run, and puts
 * the reason into the suite's title so the test report says why.
 */
export async function skipUnlessRtspServer(ctx: Mocha.Context): Promise<void> {
  const reason = await rtspServerUnavailable();
  if (reason === null) return;
  const suite = ctx.test?.parent;
  if (suite) suite.title += ` (skipped: ${reason})`;
  ctx.skip();
}

/** A running test RTSP server. */
export class RtspTestServer {
  private child: ChildProcess | null = null;
  private lines: readline.Interface | null = null;
  private waiters: Array<(line: string) => void> = [];
  private options: RtspServerOptions;
  private boundPort = 0;

  private constructor(options: RtspServerOptions) {
    this.options = { ...options };
  }

  /** Starts a server on a free port of 127.0.0.1. */
  static async start(options: RtspServerOptions = {}): Promise<RtspTestServer> {
    const server = new RtspTestServer(options);
    await server.launch(0);
    return server;
  }

  /** The port it listens on (kept across restarts). */
  get port(): number {
    return this.boundPort;
  }

  /** The stream URL, with the credentials when the server requires them. */
  get url(): string {
    const { user, password } = this.options;
    const auth = user !== undefined ? `${encodeURIComponent(user)}:${encodeURIComponent(password ?? '')}@` : '';
    return `rtsp://${auth}127.0.0.1:${this.boundPort}${this.options.path ?? '/test'}`;
  }

  /** The process id of the current server (null while it is down). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** SIGKILLs the server mid-stream: clients see the connection drop, as with a camera losing power. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.detach();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Kills the server if it runs and starts it again on the same port, optionally with another size or rate. */
  async restart(changes: Pick<RtspServerOptions, 'width' | 'height' | 'fps'> = {}): Promise<void> {
    await this.kill();
    Object.assign(this.options, changes);
    // The old listener is gone with the process; a retry covers a slow kernel release of the port.
    for (let tries = 0; ; tries++) {
      try {
        await this.launch(this.boundPort);
        return;
      } catch (err) {
        if (tries >= 10) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Keeps every RTSP session up but stops sending frames (a GStreamer valve drops them). */
  stall(): Promise<void> {
    return this.command('stall');
  }

  /** Sends frames again after stall(). */
  resume(): Promise<void> {
    return this.command('resume');
  }

  /** Stops the server for good: closes its stdin (it exits), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.detach();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private async launch(port: number): Promise<void> {
    const o = this.options;
    const args = [SCRIPT, '--port', String(port), '--path', o.path ?? '/test',
      '--width', String(o.width ?? 320), '--height', String(o.height ?? 240), '--fps', String(o.fps ?? 25)];
    if (o.user !== undefined) args.push('--user', o.user, '--password', o.password ?? '');
    const child = spawn(TEST_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    child.stdin.on('error', () => {}); // EPIPE after a kill
    this.child = child;
    this.lines = readline.createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiters.shift()?.(line));

    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`RTSP test server did not start within ${START_TIMEOUT_MS} ms: ${stderr}`)), START_TIMEOUT_MS);
      this.waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`RTSP test server exited (${code ?? sig}) before it was ready: ${stderr.trim()}`));
      });
    });
    const m = /^READY (\d+)$/.exec(first);
    if (!m) {
      await this.kill();
      throw new Error(`RTSP test server failed: ${first} ${stderr.trim()}`);
    }
    this.boundPort = Number(m[1]);
  }

  private command(name: 'stall' | 'resume'): Promise<void> {
    const child = this.child;
    if (!child?.stdin) return Promise.reject(new Error(`RTSP test server: ${name} while it is down`));
    return new Promise((resolve, reject) => {
      this.waiters.push((line) => (line === `OK ${name}` ? resolve() : reject(new Error(`RTSP test server answered ${line} to ${name}`))));
      child.stdin!.write(`${name}\n`);
    });
  }

  private detach(): void {
    this.lines?.close();
    this.lines = null;
    this.child = null;
    this.waiters = [];
  }
}
