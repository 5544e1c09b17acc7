import type { BenchResult } from './result.js';
import { targetLines } from './targets.js';

/** The table printed by `npm run bench`: the rows, the ratios, one line per round when there are several, the targets and the soak's RSS. */
export function formatBench(r: BenchResult): string {
  const lines = [`input ${r.input} (${r.width}x${r.height}), fastest engine ${r.engine}${r.node ? `, node ${r.node}` : ''}`, ''];
  lines.push(`${'configuration'.padEnd(62)} ${'frames'.padStart(6)} ${'seconds'.padStart(8)} ${'fps'.padStart(8)}`);
  for (const x of r.rows) {
    lines.push(`${x.name.padEnd(62)} ${String(x.frames).padStart(6)} ${x.seconds.toFixed(2).padStart(8)} ${x.fps.toFixed(1).padStart(8)}${x.note ? `  ${x.note}` : ''}`);
  }
  lines.push('');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`${k.padEnd(24)} ${v ?? 'n/a'}`);
  // One round has nothing to show beyond the medians, which are then that round's values.
  if (r.rounds && r.rounds.length > 1) {
    lines.push('', 'per round (each ratio uses the ceiling measured at the start of its round):');
    lines.push(`${'round'.padEnd(6)} ${'ceiling'.padStart(8)} ${'jsonl'.padStart(8)} ${'mp4'.padStart(8)} ${'naive'.padStart(8)} ${'jsonl/ceil'.padStart(11)} ${'mp4/ceil'.padStart(9)} ${'mp4/naive'.padStart(10)}`);
    r.rounds.forEach((x, i) => {
      lines.push(`${String(i + 1).padEnd(6)} ${x.ceiling_fps.toFixed(1).padStart(8)} ${x.jsonl_fps.toFixed(1).padStart(8)} ${x.video_fps.toFixed(1).padStart(8)} ${x.naive_fps.toFixed(1).padStart(8)} ${x.jsonl_vs_ceiling.toFixed(3).padStart(11)} ${x.video_vs_ceiling.toFixed(3).padStart(9)} ${x.video_vs_naive_fast.toFixed(2).padStart(10)}`);
    });
  }
  const targets = targetLines(r.ratios);
  if (targets.length) lines.push('', 'throughput targets, on the medians:', ...targets);
  if (r.rss) lines.push(`rss after 1,000 frames ${r.rss.after1000MiB} MiB, after 10,000 ${r.rss.after10000MiB} MiB (growth ${(r.rss.growth * 100).toFixed(1)}%)`);
  return lines.join('\n');
}
