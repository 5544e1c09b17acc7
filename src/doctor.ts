import os from 'node:os';
import { describeTfjsBackends, gpuTfjsAvailable } from './engines/tfjs-backend.js';
import { cudaProviderInstalled, onnxRuntimeAvailable } from './engines/onnx.js';
import { resolveFfmpeg } from './sources/ffmpeg-path.js';
import { listBundledModels } from './model/load-model.js';

/** Options of doctor(). */
export interface DoctorOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
}

/** The initial old-space size flag node runs with, if any (bin/ssdpipe sets one; see the comment there). */
export function heapFlag(execArgv: readonly string[] = process.execArgv): string | undefined {
  return execArgv.find((a) => a.startsWith('--initial-old-space-size'));
}

/** Whether node runs with the initial old-space size bin/ssdpipe sets. */
export function heapLine(execArgv: readonly string[]): string {
  const flag = heapFlag(execArgv);
  return flag
    ? `v8 heap: ${flag} (fewer full GCs per frame)`
    : 'v8 heap: default; the ssdpipe command (bin/ssdpipe) adds --initial-old-space-size=128, ~5% more fps on 720p';
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

  const [ort, gpu, tfjs] = await Promise.all([onnxRuntimeAvailable(), gpuTfjsAvailable(), describeTfjsBackends()]);
  lines.push(`onnx engine: ${ort.ok ? 'available' : 'unavailable'} — ${ort.reason}`);
  lines.push(
    cudaProviderInstalled()
      ? '  onnx device: cuda (the CUDA execution provider is installed; cpu if it fails to load)'
      : '  onnx device: cpu (CUDA execution provider not installed: .npmrc skips its download; see README, GPU)',
  );
  lines.push('tfjs backends:');
  for (const b of tfjs) lines.push(`  ${b.available ? '+' : '-'} ${b.name.padEnd(11)} ${b.reason}`);
  const auto = gpu.ok
    ? `tfjs (tfjs-node-gpu with a GPU: ${gpu.reason})`
    : ort.ok
      ? `onnx on the CPU, ${os.availableParallelism()} threads (no usable GPU for tfjs: ${gpu.reason})`
      : `tfjs on ${tfjs.find((b) => b.available)?.name ?? 'no backend'} (onnxruntime-node unavailable)`;
  lines.push(`--engine auto picks: ${auto}`);
  lines.push(`models: ${listBundledModels().join(', ')}`);
  return lines.join('\n');
}
