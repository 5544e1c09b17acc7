import { floatPool } from '../buffer-pool.js';
import type { Detection, FrameDetections } from '../detection.js';
import type { Engine } from '../engines/engine.js';
import type { Frame } from '../frame.js';
import type { ModelDescriptor } from '../model/descriptor.js';
import { createPostprocessor, type PostprocessOptions } from '../model/postprocess.js';
import { preprocessFrame, toSourceBox, type InputGeometry } from '../model/preprocess.js';

/** A preprocessed batch: the model input tensor and each frame's placement in it. */
export interface PreparedBatch {
  readonly frames: readonly Frame[];
  /** [frames.length, inputHeight, inputWidth, 3] normalized NHWC. Reused by a later prepare() once
   *  infer() has run this batch: read it before then. */
  readonly input: Float32Array;
  readonly geometries: readonly InputGeometry[];
  readonly preprocessMs: number;
}

/**
 * The SSD detector, engine-independent around the engine: preprocess (resize + normalize),
 * run the engine, decode boxes against anchors, NMS, map boxes back to the source frame.
 * The three steps are separate methods so the pipeline can overlap them and time each.
 */
export class SsdDetector {
  private readonly postprocess: ReturnType<typeof createPostprocessor>;
  private readonly frameSize: number;
  /** Input buffers handed back after their run (see BufferPool: saves GC time per frame). */
  private readonly inputs = floatPool(4);

  constructor(
    readonly descriptor: ModelDescriptor,
    readonly engine: Engine,
    readonly options: PostprocessOptions,
  ) {
    this.postprocess = createPostprocessor(descriptor, options);
    this.frameSize = descriptor.input.width * descriptor.input.height * 3;
  }

  /** Resizes and normalizes frames into one input tensor. */
  prepare(frames: readonly Frame[]): PreparedBatch {
    const t0 = performance.now();
    // Every element is written by preprocessFrame, so a reused buffer needs no clearing.
    const input = this.inputs.take(frames.length * this.frameSize);
    const geometries = frames.map((f, i) => preprocessFrame(f.data, f.width, f.height, this.descriptor.input, input, i * this.frameSize));
    return { frames, input, geometries, preprocessMs: performance.now() - t0 };
  }

  /** Runs the engine on a prepared batch and decodes every frame's detections. */
  async infer(batch: PreparedBatch): Promise<FrameDetections[]> {
    const n = batch.frames.length;
    const t0 = performance.now();
    const raw = await this.engine.run(batch.input, n);
    const t1 = performance.now();
    // A worker engine hands the (transferred) input back; other engines are done with it now.
    this.inputs.give(raw.input ?? batch.input);
    const out: FrameDetections[] = [];
    for (let i = 0; i < n; i++) {
      const p0 = performance.now();
      const detections = this.decodeFrame(raw.boxEncodings, raw.classLogits, i, batch.geometries[i]);
      out.push({
        frame: batch.frames[i],
        detections,
        timings: { decode: batch.frames[i].decodeMs, preprocess: batch.preprocessMs / n, inference: (t1 - t0) / n, postprocess: performance.now() - p0 },
      });
    }
    return out;
  }

  /** Convenience: prepare + infer. */
  async detect(frames: readonly Frame[]): Promise<FrameDetections[]> {
    return this.infer(this.prepare(frames));
  }

  private decodeFrame(boxEncodings: Float32Array, classLogits: Float32Array, i: number, geometry: InputGeometry): Detection[] {
    const found: Detection[] = [];
    for (const c of this.postprocess(boxEncodings, classLogits, i)) {
      const box = toSourceBox(c.box, geometry);
      if (box) found.push({ classId: c.classId, label: c.label, score: c.score, box, trackId: null });
    }
    return found;
  }
}
