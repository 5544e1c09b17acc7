import { Command, InvalidArgumentError } from 'commander';
import { toSsdpipeError } from '../src/errors.js';
import { runBenchmark } from './benchmark.js';
import { formatBench } from './format.js';

// `npm run bench`: the throughput benchmark. A development tool, kept out of the product's
// runtime path (the package's dist/ and the ssdpipe command do not contain it).

const integer = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} expects an integer >= 1, received ${JSON.stringify(v)}`);
  return n;
};

const program = new Command()
  .name('npm run bench --')
  .description('measure throughput: decode-only and inference-only ceilings, naive loops, the pipeline (table + one JSON line)')
  .argument('[input]', 'a video file (default: a 30 s 1280x720 clip made by scripts/make-samples.mjs)')
  .option('--out-dir <dir>', 'where the generated input and outputs go', 'out/bench')
  .option('--batches <list>', 'batch sizes for the inference-only ceiling (default 1,2,4,8)')
  .option('--threads <n>', 'engine threads (default: all cores)', integer('--threads'))
  .option('--rounds <n>', 'rounds of paired ceiling / pipeline / naive-loop runs; the medians are reported (default 3)', integer('--rounds'))
  .option('--soak', 'only the memory soak: RSS after 1,000 and 10,000 frames (several minutes)', false)
  .option('--engines', 'only the per-frame model time of the onnx and tfjs engines (batches from --batches, default 1,4,8)', false)
  .action(async (input: string | undefined, o: { outDir: string; batches?: string; threads?: number; rounds?: number; soak: boolean; engines: boolean }) => {
    const batches = o.batches?.split(',').map((b) => integer('--batches')(b));
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
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = toSsdpipeError(err);
  process.stderr.write(`bench: error: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}\n`);
  process.exit(1);
});
