import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../src/pipeline/run.js';
import { RtspTestServer, rtspServerUnavailable } from '../test/helpers/rtsp-server.js';

// `npm run bench:live`: the live-camera soak of issue 11. Two RTSP servers on 127.0.0.1 (GStreamer
// test pattern, H.264, 25 fps) feed one ssdpipe run for --minutes (default 10); each server is
// killed and restarted --restarts times (default 5), staggered. It prints, per camera: frames
// written, frames dropped by freshest-frame scheduling, reconnects and how long each took (from
// the 'reconnecting' record after a drop to the next 'streaming'), frame age at output p50/p95,
// and the process RSS at minute 1 and at the end. Needs python3-gi and GStreamer's RTSP server.

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const minutes = arg('minutes', 10);
const restarts = arg('restarts', 5);
const width = arg('width', 640);
const height = arg('height', 360);

async function main(): Promise<void> {
  const missing = await rtspServerUnavailable();
  if (missing) throw new Error(`the RTSP test server cannot run here: ${missing}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ssdpipe-live-soak-'));
  const cams = [
    await RtspTestServer.start({ width, height, fps: 25 }),
    await RtspTestServer.start({ width, height, fps: 25, user: 'viewer', password: 'soak-secret' }),
  ];
  const durationS = minutes * 60;
  const rss: Record<string, number> = {};
  const timers: NodeJS.Timeout[] = [];
  timers.push(setTimeout(() => (rss.minute1 = process.memoryUsage().rss), 60_000));
  // Restarts spread over the run: camera A at 1..n periods, camera B half a period earlier.
  const period = (durationS * 1000) / (restarts + 1);
  const restartLog: string[] = [];
  cams.forEach((cam, c) => {
    for (let k = 1; k <= restarts; k++) {
      const at = c === 0 ? k * period : (k - 0.5) * period;
      timers.push(
        setTimeout(() => {
          void cam.restart().then(() => restartLog.push(`${((Date.now() - t0) / 1000).toFixed(0)} s: camera ${c === 0 ? 'A' : 'B'} restarted`));
        }, at),
      );
    }
  });
  const jsonl = path.join(dir, 'soak.jsonl');
  const t0 = Date.now();
  const summary = await run(
    [
      { name: 'cam-a', input: cams[0].url },
      { name: 'cam-b', input: cams[1].url },
    ],
    { jsonl, duration: durationS, stallTimeout: 5, progress: process.stderr },
  );
  rss.end = process.memoryUsage().rss;
  for (const t of timers) clearTimeout(t);
  for (const cam of cams) await cam.stop();

  const records = (await readFile(jsonl, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const leaked = (await readFile(jsonl, 'utf8')).includes('soak-secret');
  console.log(`live soak: ${minutes} min, 2 cameras ${width}x${height} at 25 fps, ${restarts} restarts each, ended ${summary.ended}, RSS minute 1 ${mb(rss.minute1)} MiB, end ${mb(rss.end)} MiB`);
  console.log(`model ${summary.model} on ${summary.engine}/${summary.backend}, batch ${summary.batch}; credentials in the JSONL: ${leaked ? 'YES' : 'no'}`);
  for (const p of summary.per_source) {
    const reconnectMs = reconnectTimes(records, p.source);
    console.log(
      `${p.source}: ${p.frames} frames written (${p.fps} fps), ${p.dropped} dropped, ${p.reconnects} reconnects ` +
        `[${reconnectMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s], frame age p50 ${p.age_ms?.p50} ms, p95 ${p.age_ms?.p95} ms, last state ${p.state}`,
    );
  }
  for (const l of restartLog) console.log(`  ${l}`);
  console.log(JSON.stringify({ summary, rss }));
  await rm(dir, { recursive: true, force: true });
}

/** For each drop: ms from the first 'reconnecting' record after 'streaming' to the next 'streaming'. */
function reconnectTimes(records: readonly Record<string, unknown>[], source: string): number[] {
  const out: number[] = [];
  let droppedAt: number | null = null;
  for (const r of records) {
    if (r.type !== 'status' || r.source !== source) continue;
    const t = Date.parse(r.time as string);
    if (r.state === 'reconnecting' && droppedAt === null) droppedAt = t;
    if (r.state === 'streaming' && droppedAt !== null) {
      out.push(t - droppedAt);
      droppedAt = null;
    }
  }
  return out;
}

const mb = (b: number | undefined): string => (b === undefined ? '?' : (b / 2 ** 20).toFixed(1));

main().catch((err: unknown) => {
  process.stderr.write(`live soak: error: ${(err as Error).message}\n`);
  process.exit(1);
});
