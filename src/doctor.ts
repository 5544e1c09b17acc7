import os from 'node:os';
import { describeTfjsBackends } from './engines/tfjs-backend.js';
import { cudaProviderInstalled, onnxRuntimeAvailable } from './engines/onnx.js';
import { CACHE_DIR_ENV, checkOnnxCacheDir, ONNX_CACHE_MIN_FREE_BYTES, type OnnxCacheDirCheck } from './engines/onnx-cache.js';
import { defaultThreads, resolveEngineKind } from './engines/select-engine.js';
import { resolveFfmpeg } from './ffmpeg/ffmpeg-path.js';
import { heapLine } from './heap-flag.js';
import { listBundledModels } from './model-io/load-model.js';

/** Options of doctor(). */
export interface DoctorOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

/**
 * A plain-text report: which ffmpeg/ffprobe, which engine `--engine auto` picks and which TF.js
 * backend, each with the reason and what was skipped. Nothing is loaded beyond what is needed
 * to answer, so it is quick.
 */
export async function doctor(options: DoctorOptions = {}): Promise<string> {
  const lines: string[] = [];
  lines.push(`ssdpipe doctor — node ${process.version}, ${os.platform()}-${os.arch()}, ${os.availableParallelism()} cores`);
  lines.push(heapLine(process.execArgv));

  try {
    const ff = resolveFfmpeg(options);
    for (const [name, tool] of [['ffmpeg', ff.ffmpeg], ['ffprobe', ff.ffprobe]] as const) {
      lines.push(`${name}: ${tool.path}  (${tool.source}: ${tool.reason})`);
      for (const s of tool.skipped) lines.push(`  skipped ${s.source}: ${s.reason}`);
    }
  } catch (err) {
    lines.push(`ffmpeg:  NOT FOUND — ${(err as Error).message}`);
  }

  const [ort, tfjs] = await Promise.all([onnxRuntimeAvailable(), describeTfjsBackends()]);
  lines.push(`onnx engine: ${ort.ok ? 'available' : 'unavailable'} — ${ort.reason}`);
  lines.push(
    cudaProviderInstalled()
      ? '  onnx device: cuda (the CUDA execution provider is installed; cpu if it fails to load)'
      : '  onnx device: cpu (CUDA execution provider not installed: .npmrc skips its download; see README, GPU)',
  );
  lines.push(`  onnx model cache: ${cacheLine(await checkOnnxCacheDir())}`);
  lines.push('tfjs backends:');
  for (const b of tfjs) lines.push(`  ${b.available ? '+' : '-'} ${b.name.padEnd(11)} ${b.reason}`);
  // The same decision `--engine auto` makes, from the same function.
  const pick = await resolveEngineKind({ engine: 'auto', backend: 'auto' });
  const auto = pick.kind === 'onnx' ? `onnx on the CPU, ${defaultThreads()} threads` : `tfjs${pick.gpu ? ' on a GPU' : ` on ${tfjs.find((b) => b.available)?.name ?? 'no backend'}`}`;
  lines.push(`--engine auto picks: ${auto} (${pick.why})`);
  lines.push(`models: ${listBundledModels().join(', ')}`);
  return lines.join('\n');
}

/** The ONNX model cache folder and whether a generated model can be kept there. */
function cacheLine(c: OnnxCacheDirCheck): string {
  const inMemory = `the model is built in memory on every run, not cached; set ${CACHE_DIR_ENV} to a writable folder with space`;
  if (!c.writable) return `${c.dir} NOT WRITABLE (${c.error}): ${inMemory}`;
  if (c.freeBytes !== null && c.freeBytes < ONNX_CACHE_MIN_FREE_BYTES) {
    return `${c.dir} ALMOST FULL (${Math.floor(c.freeBytes / 1024)} KiB free, a model takes 16-22 MB): ${inMemory}`;
  }
  return `${c.dir} (writable${c.freeBytes !== null ? `, ${Math.floor(c.freeBytes / 2 ** 20)} MiB free` : ''}; ${CACHE_DIR_ENV} moves it)`;
}
