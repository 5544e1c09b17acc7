import type { Engine } from '../src/engines/engine.js';
import { createEngine, type SelectEngineOptions } from '../src/engines/select-engine.js';
import { SsdDetector } from '../src/inference/detector.js';
import type { LoadedModel } from '../src/model-io/load-model.js';
import { resolvePostprocess } from '../src/pipeline/options.js';

/** A detector on an engine of the benchmark's choosing, with the engine's name for the rows. */
export interface BenchDetector {
  detector: SsdDetector;
  engine: Engine;
  /** kind/backend, e.g. 'onnx/cpu', as the table names it. */
  name: string;
}

/** Opens the face model's detector on the engine `engineOptions` pick, with the model's own postprocess defaults. */
export async function openDetector(model: LoadedModel, engineOptions: SelectEngineOptions): Promise<BenchDetector> {
  // The descriptor's defaults, as `ssdpipe detect` uses with no flags, so the loops do the same work as the pipeline.
  const post = resolvePostprocess({}, model.descriptor);
  const engine = await createEngine(model.graph, engineOptions);
  return { detector: new SsdDetector(model.descriptor, engine, post), engine, name: `${engine.kind}/${engine.backend}` };
}
