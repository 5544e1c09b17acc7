import { heapFlag } from '../src/heap-flag.js';

/** The node running the benchmark and its V8 heap flag, e.g. 'v20.20.2 --initial-old-space-size=128' or 'v20.20.2 (default v8 heap)'. */
export function nodeDescription(): string {
  // The flag is worth ~5% fps on 720p (see bin/ssdpipe), so a result says which heap it ran with.
  return `${process.version} ${heapFlag() ?? '(default v8 heap)'}`;
}
