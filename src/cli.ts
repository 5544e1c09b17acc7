#!/usr/bin/env node
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { addSchemaFlags, readFlags } from './cli/flags.js';
import { engineFields, ffmpegFields, liveFields, modelFields, outputFields, trackingFields } from './config/schema.js';
import { AbortedError, exitCodeFor, exitCodeForSignal, formatCauseChain, toSsdpipeError, EXIT_USAGE } from './errors.js';
import { checkOutputPath } from './files/output-paths.js';
import type { RunOptions } from './pipeline/options.js';
import type { SourceInput } from './pipeline/sources.js';
import { formatSummary, type RunSummary } from './pipeline/stats.js';
import { sourceWarnings, type SourceReport } from './sources/source-report.js';

// Command wiring only: every command calls the programmatic API, and this is the only place that
// prints errors and chooses exit codes (the mapping is exitCodeFor in errors.ts; README, Exit codes).

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * How long a run may take to stop after SIGINT/SIGTERM before the CLI exits anyway. run() stops
 * within it on its own (the decoder stops, frames in flight drain, outputs are finalized); this
 * catches a run stuck elsewhere (a hung file system call, a model still loading), because
 * supervisors send one SIGTERM and then SIGKILL.
 */
const STOP_DEADLINE_MS = 2000;

/** The first SIGINT/SIGTERM received, if any: it decides the exit code (130 or 143). */
let stoppedBy: NodeJS.Signals | null = null;

/** --debug or SSDPIPE_DEBUG=1 (any value but empty or 0): print the cause chain of an error. */
function debugWanted(): boolean {
  const env = process.env.SSDPIPE_DEBUG;
  return (env !== undefined && env !== '' && env !== '0') || program.opts<{ debug?: boolean }>().debug === true;
}

function fail(err: unknown): never {
  const e = toSsdpipeError(err);
  const hint = e.hint ? ` (hint: ${e.hint})` : '';
  process.stderr.write(`ssdpipe: error: ${e.message.replace(/\s*\n\s*/g, ' ')}${hint}\n`);
  if (debugWanted()) process.stderr.write(`${formatCauseChain(err)}\n`);
  process.exit(exitCodeFor(e, stoppedBy ?? undefined));
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

/**
 * SIGINT/SIGTERM stop the run gracefully (outputs finalized) and it exits 130/143; a second
 * signal, or a run still going STOP_DEADLINE_MS after the first, exits at once.
 */
function interruptible(): { signal: AbortSignal; interrupted: () => boolean } {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stoppedBy) {
      process.stderr.write(`ssdpipe: ${sig} again, exiting without finalizing outputs\n`);
      process.exit(exitCodeForSignal(stoppedBy));
    }
    stoppedBy = sig;
    setTimeout(() => {
      process.stderr.write(`ssdpipe: still running ${STOP_DEADLINE_MS / 1000} s after ${sig}, exiting without finalizing outputs\n`);
      process.exit(exitCodeForSignal(sig));
    }, STOP_DEADLINE_MS).unref();
    ac.abort(new AbortedError(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: ac.signal, interrupted: () => stoppedBy !== null };
}

/**
 * Checks every output path before anything is decoded (a wrong extension exits 2, an
 * unwritable place 6); run() checks them again with what the probe found (a still image or not).
 */
function checkOutputs(options: Pick<RunOptions, 'jsonl' | 'video' | 'stats'>): void {
  for (const kind of ['jsonl', 'video', 'stats'] as const) {
    const file = options[kind];
    if (file !== undefined) checkOutputPath(kind, file);
  }
}

/**
 * Warning lines about the inputs (truncated, damaged), from the file sources' reports that run()
 * puts in the summary as `inputs` (also written by --stats).
 */
function inputWarnings(summary: RunSummary): string[] {
  const reports = (summary as RunSummary & { inputs?: readonly SourceReport[] }).inputs ?? [];
  return reports.flatMap(sourceWarnings);
}

/** Runs detection with outputs, printing progress and the summary on stderr. */
async function executeRun(inputs: SourceInput[], options: RunOptions, quiet: boolean): Promise<void> {
  checkOutputs(options);
  const { run } = await import('./pipeline/run.js');
  const { signal, interrupted } = interruptible();
  const summary = await run(inputs, { ...options, signal, progress: quiet ? undefined : process.stderr });
  // Even with --quiet: a truncated or damaged input completes (exit 0) and this is how it is told.
  for (const warning of inputWarnings(summary)) process.stderr.write(`ssdpipe: warning: ${warning}\n`);
  if (!quiet) process.stderr.write(formatSummary(summary) + '\n');
  if (interrupted()) process.exit(exitCodeForSignal(stoppedBy!));
}

const program = new Command()
  .name('ssdpipe')
  .description('SSD (Single Shot MultiBox Detector) object detection over video files, images and streams')
  .version(pkg.version)
  .option('--debug', 'on an error, print the stack and the cause chain (also SSDPIPE_DEBUG=1)', false)
  .configureOutput({ outputError: (str, write) => write(`ssdpipe: ${str.trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`) })
  .exitOverride((err) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
    process.exit(EXIT_USAGE);
  });

const detectCommand = program
  .command('detect')
  .description('detect objects in a video file or image; write JSONL records and/or an annotated MP4')
  .argument('<inputs...>', 'video files, images (jpg, png), rtsp:// rtsps:// http(s):// streams (MJPEG, HLS, MP4) or /dev/videoN; several are batched through one model');
// Every option flag comes from the option schema (src/config/schema.ts).
const detectFlags = addSchemaFlags(detectCommand, { ...modelFields, ...outputFields, ...trackingFields, ...liveFields, ...engineFields, ...ffmpegFields });
detectCommand.option('-q, --quiet', 'no progress bar and no summary on stderr', false).action(
  guarded(async (inputs: string[], o: Record<string, unknown>) => {
    const options = readFlags(o, detectFlags) as RunOptions;
    if (!options.jsonl && !options.video && !options.stats) {
      process.stderr.write('ssdpipe: note: no --jsonl, --video or --stats given; only the summary is printed\n');
    }
    await executeRun(inputs, options, o.quiet as boolean);
  }),
);

program
  .command('run')
  .description('run a pipeline file (pipelines/*.json: input, model, options, outputs)')
  .argument('<pipeline.json>', 'pipeline file; relative paths in it are resolved against its folder')
  .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
  .action(
    guarded(async (file: string, o: { quiet: boolean }) => {
      const { loadPipelineSpec } = await import('./pipeline/spec.js');
      const { inputs, options } = loadPipelineSpec(file);
      await executeRun(inputs, options, o.quiet);
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

const models = program.command('models').description('list, download and export models');
models
  .command('list')
  .description('list every model: bundled, downloadable, and whether each is available offline now')
  .option('--json', 'one JSON array instead of the table', false)
  .action(
    guarded(async (o: { json: boolean }) => {
      const { listModels, formatModelList } = await import('./model-io/list-models.js');
      const { modelCacheDir } = await import('./model-io/pull-model.js');
      const rows = listModels();
      process.stdout.write((o.json ? JSON.stringify(rows, null, 2) : formatModelList(rows, modelCacheDir())) + '\n');
    }),
  );
models
  .command('pull')
  .description('download models into the cache (verified; resumed when interrupted) and print where each model file is')
  .argument('<name...>', 'downloadable model names (see ssdpipe models list)')
  .option('--force', 'download again even when a verified copy is cached', false)
  .option('-q, --quiet', 'no progress bar and no messages on stderr', false)
  .action(
    guarded(async (names: string[], o: { force: boolean; quiet: boolean }) => {
      const { catalogEntryOrThrow, pullModel } = await import('./model-io/pull-model.js');
      const entries = names.map(catalogEntryOrThrow); // every name checked before anything is downloaded
      for (const entry of entries) {
        const pulled = await pullModel(entry, { force: o.force, progress: o.quiet ? undefined : process.stderr });
        if (!o.quiet) process.stderr.write(`ssdpipe: ${entry.name}: ${pulled.downloaded ? 'downloaded and verified' : 'already cached and verified'} in ${pulled.dir}\n`);
        process.stdout.write(`${pulled.modelPath}\n`);
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
      const { loadModel } = await import('./model-io/load-model.js');
      const { exportOnnx } = await import('./model-io/export-onnx.js');
      const res = await exportOnnx(await loadModel(model), { outPath: o.output, layout: o.layout });
      process.stderr.write(`ssdpipe: wrote ${res.onnxPath} and ${res.sidecarPath}\n`);
    }),
  );

program.parseAsync(process.argv).catch((err: unknown) => fail(err));
