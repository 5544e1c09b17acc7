#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { SsdpipeError, toSsdpipeError } from './errors.js';
import { DEFAULTS } from './pipeline/options.js';
import { formatSummary } from './pipeline/stats.js';
import type { RunOptions } from './pipeline/run.js';

// Command wiring only: every command calls the programmatic API, and this is the only place that
// prints errors and chooses exit codes.

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const number = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects a number, received ${JSON.stringify(v)}`);
  return n;
};
const integer = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} expects an integer, received ${JSON.stringify(v)}`);
  return n;
};

function fail(err: unknown): never {
  const e = toSsdpipeError(err);
  const hint = e.hint ? ` (hint: ${e.hint})` : '';
  process.stderr.write(`ssdpipe: error: ${e.message.replace(/\s*\n\s*/g, ' ')}${hint}\n`);
  if (process.env.SSDPIPE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(e.code === 'E_BAD_OPTION' ? EXIT_USAGE : EXIT_RUNTIME);
}

/** Wraps a command action so that any error becomes the one-line message and exit code. */
function guarded<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      fail(err);
    }
  };
}

/** SIGINT/SIGTERM stop the run gracefully (outputs finalized); a second signal exits at once. */
function interruptible(): { signal: AbortSignal; interrupted: () => boolean } {
  const ac = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) {
      process.stderr.write(`ssdpipe: ${sig} again, exiting without finalizing outputs\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    ac.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: ac.signal, interrupted: () => count > 0 };
}

/** Runs detection with outputs, printing progress and the summary on stderr. */
async function executeRun(input: string, options: RunOptions, quiet: boolean): Promise<void> {
  const { run } = await import('./pipeline/run.js');
  const { signal, interrupted } = interruptible();
  try {
    const summary = await run(input, { ...options, signal, progress: quiet ? undefined : process.stderr });
    if (!quiet) process.stderr.write(formatSummary(summary) + '\n');
    if (interrupted()) process.exit(EXIT_INTERRUPTED);
  } catch (err) {
    fail(err);
  }
}

const program = new Command()
  .name('ssdpipe')
  .description('SSD (Single Shot MultiBox Detector) object detection over video files, images and streams')
  .version(pkg.version)
  .configureOutput({ outputError: (str, write) => write(`ssdpipe: ${str.trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
  .exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
    process.exit(EXIT_USAGE);
  });

program
  .command('detect')
  .description('detect objects in a video file or image; write JSONL records and/or an annotated MP4')
  .argument('<input>', 'video file or image (jpg, png)')
  .option('-m, --model <name|path>', 'bundled model name, model descriptor .json or .tflite SSD', DEFAULTS.model)
  .option('--labels <labelmap.txt>', 'label map of a .tflite model, one label per line (default: its metadata)')
  .option('--jsonl <file|->', 'write one JSON line per frame to a file, or - for stdout')
  .option('--video <file.mp4>', 'write an annotated H.264 MP4 (same size and frame rate as the input)')
  .option('--stats <file.json>', 'write the run summary as JSON')
  .option('--score <0..1>', 'minimum detection score (default: the model\'s, 0.5 for face)', number('--score'))
  .option('--iou <0..1>', 'NMS IoU threshold (default: the model\'s, 0.5 for face)', number('--iou'))
  .option('--max-detections <n>', 'maximum detections per frame (default: the model\'s, 100 for face)', integer('--max-detections'))
  .option('--class-agnostic', 'NMS across classes instead of per class (default: the model\'s; .tflite SSDs are class-agnostic)')
  .option('--soft-nms', 'Gaussian soft-NMS instead of hard NMS', false)
  .option('--batch <n|auto>', 'frames per inference batch; auto: 1 on CPU engines, 8 on a GPU', (v: string) => (v === 'auto' ? v : integer('--batch')(v)), DEFAULTS.batch)
  .option('--max-wait-ms <ms>', 'longest wait for a batch to fill', number('--max-wait-ms'), DEFAULTS.maxWaitMs)
  .addOption(new Option('--engine <engine>', 'inference engine').choices(['auto', 'onnx', 'tfjs']).default(DEFAULTS.engine))
  .addOption(new Option('--backend <backend>', 'TF.js backend (implies --engine tfjs when not auto)').choices(['auto', 'tensorflow', 'wasm', 'cpu']).default(DEFAULTS.backend))
  .option('--threads <n>', 'engine threads (default: all cores)', integer('--threads'))
  .option('--ffmpeg <path>', 'ffmpeg binary (default: see ssdpipe doctor)')
  .option('--ffprobe <path>', 'ffprobe binary (default: see ssdpipe doctor)')
  .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
  .action(async (input: string, o: Record<string, unknown>) => {
    if (!o.jsonl && !o.video && !o.stats) {
      process.stderr.write('ssdpipe: note: no --jsonl, --video or --stats given; only the summary is printed\n');
    }
    await executeRun(input, {
      model: o.model as string,
      labels: o.labels as string | undefined,
      jsonl: o.jsonl as string | undefined,
      video: o.video as string | undefined,
      stats: o.stats as string | undefined,
      score: o.score as number | undefined,
      iou: o.iou as number | undefined,
      maxDetections: o.maxDetections as number | undefined,
      classAgnostic: o.classAgnostic as boolean | undefined,
      softNms: o.softNms as boolean,
      batch: o.batch as number | 'auto',
      maxWaitMs: o.maxWaitMs as number,
      engine: o.engine as 'auto' | 'onnx' | 'tfjs',
      backend: o.backend as string,
      threads: o.threads as number | undefined,
      ffmpegPath: o.ffmpeg as string | undefined,
      ffprobePath: o.ffprobe as string | undefined,
    }, o.quiet as boolean);
  });

program
  .command('run')
  .description('run a pipeline file (pipelines/*.json: input, model, options, outputs)')
  .argument('<pipeline.json>', 'pipeline file; relative paths in it are resolved against its folder')
  .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
  .action(
    guarded(async (file: string, o: { quiet: boolean }) => {
      const { loadPipelineSpec } = await import('./pipeline/spec.js');
      const { input, options } = loadPipelineSpec(file);
      await executeRun(input, options, o.quiet);
    }),
  );

program
  .command('doctor')
  .description('say which ffmpeg, ffprobe, inference engine and backend ssdpipe uses, and why')
  .option('--ffmpeg <path>', 'ffmpeg binary to check')
  .option('--ffprobe <path>', 'ffprobe binary to check')
  .action(
    guarded(async (o: { ffmpeg?: string; ffprobe?: string }) => {
      const { doctor } = await import('./doctor.js');
      process.stdout.write((await doctor({ ffmpegPath: o.ffmpeg, ffprobePath: o.ffprobe })) + '\n');
    }),
  );

const models = program.command('models').description('list and export models');
models
  .command('list')
  .description('list the bundled models')
  .action(
    guarded(async () => {
      const { listBundledModels, readDescriptor, resolveDescriptorPath } = await import('./model/load-model.js');
      for (const name of listBundledModels()) {
        const d = readDescriptor(resolveDescriptorPath(name));
        process.stdout.write(`${name}\t${d.description}\n`);
      }
    }),
  );
models
  .command('export')
  .description('export a model as a standalone ONNX file plus a sidecar JSON (anchors, box coder, labels)')
  .argument('<model>', 'bundled model name or model descriptor .json')
  .addOption(new Option('--format <format>', 'export format').choices(['onnx']).default('onnx'))
  .addOption(new Option('--layout <layout>', 'input layout of the exported model').choices(['nhwc', 'nchw']).default('nhwc'))
  .requiredOption('-o, --output <file.onnx>', 'where to write the model (the sidecar goes to <file>.json)')
  .action(
    guarded(async (model: string, o: { output: string; layout: 'nhwc' | 'nchw' }) => {
      const { loadModel } = await import('./model/load-model.js');
      const { exportOnnx } = await import('./model/export-onnx.js');
      const res = await exportOnnx(await loadModel(model), { outPath: o.output, layout: o.layout });
      process.stderr.write(`ssdpipe: wrote ${res.onnxPath} and ${res.sidecarPath}\n`);
    }),
  );

program
  .command('bench')
  .description('measure throughput: decode-only and inference-only ceilings, naive loops, the pipeline (table + one JSON line)')
  .argument('[input]', 'a video file (default: a 30 s 1280x720 clip made by scripts/make-samples.mjs)')
  .option('--out-dir <dir>', 'where the generated input and outputs go', 'out/bench')
  .option('--batches <list>', 'batch sizes for the inference-only ceiling (default 1,2,4,8)')
  .option('--threads <n>', 'engine threads (default: all cores)', integer('--threads'))
  .option('--rounds <n>', 'rounds of paired ceiling / pipeline / naive-loop runs; the medians are reported (default 3)', integer('--rounds'))
  .option('--soak', 'only the memory soak: RSS after 1,000 and 10,000 frames (several minutes)', false)
  .option('--engines', 'only the per-frame model time of the onnx and tfjs engines (batches from --batches, default 1,4,8)', false)
  .action(
    guarded(async (input: string | undefined, o: { outDir: string; batches?: string; threads?: number; rounds?: number; soak: boolean; engines: boolean }) => {
      const batches = o.batches?.split(',').map((b) => integer('--batches')(b));
      const { runBenchmark, formatBench } = await import('./bench/benchmark.js');
      const result = await runBenchmark({
        input,
        outDir: o.outDir,
        batches,
        threads: o.threads,
        rounds: o.rounds,
        soak: o.soak,
        enginesOnly: o.engines,
        log: (l) => process.stderr.write(`bench: ${l}\n`),
      });
      process.stdout.write(formatBench(result) + '\n' + JSON.stringify(result) + '\n');
    }),
  );

program.parseAsync(process.argv).catch((err: unknown) => fail(err instanceof SsdpipeError ? err : toSsdpipeError(err)));
