// A small TF.js graph model in @tensorflow-models/coco-ssd's layout, built from constants, so
// tests need no real weights. model.json's modelTopology is a GraphDef in JSON form:
//
//   image_tensor  Placeholder int32 [-1, -1, -1, 3]
//   ToFloat       Cast -> float32
//   mean          Mean over axes 1..3, keep_dims -> [N, 1, 1, 1], times 1/255: the frame's mean
//                 brightness m in 0..1
//   scores        Pad(base + m * gain) -> Postprocessor/Slice [N, anchors, classes]: the first K
//                 anchors' scores are base (+ gain scaled by brightness), the rest 0
//   boxes         Pad(0 * m + boxes) -> Postprocessor/ExpandDims_1 [N, anchors, 1, 4]: the first K
//                 anchors' boxes as given ([ymin, xmin, ymax, xmax]), the rest 0
//   dynamic       (option) 0 * Where([true]) added to m: a dynamic-shape op on the outputs' path,
//                 so tfjs-converter runs the graph only with executeAsync, as coco-ssd's real graphs
//
// Every Const is a weight in one shard, in manifest order (float32 and int32, little-endian).

/** One of the first K anchors: its decoded box and its score per class column. */
export interface FixtureAnchor {
  /** [ymin, xmin, ymax, xmax], normalized. */
  box: [number, number, number, number];
  /** Score by class column (others 0). */
  scores: Record<number, number>;
  /** Added to the score of each column in `scores`, times the frame's mean brightness (0..1). */
  gain?: Record<number, number>;
}

/** The layout's sizes; coco-ssd's are 1917 anchors and 90 classes. */
export interface FixtureLayout {
  anchors: number;
  classes: number;
}

/** coco-ssd's output sizes. */
export const COCO_SSD_FIXTURE_LAYOUT: FixtureLayout = { anchors: 1917, classes: 90 };

/** model.json (as an object) and the weight shard it names. */
export interface GraphModelFiles {
  modelJson: Record<string, unknown>;
  /** Shard file name (as model.json's weightsManifest names it) to bytes. */
  shards: Record<string, Uint8Array>;
}

type Dtype = 'float32' | 'int32' | 'bool';

interface ConstSpec {
  name: string;
  dtype: Dtype;
  shape: number[];
  values: ArrayLike<number>;
}

const TF_DTYPE: Record<Dtype, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

/** Options of the fixture. */
export interface FixtureOptions {
  /** Put a dynamic-shape op (Where) on the outputs' path; default false. */
  dynamic?: boolean;
  /** Shard file name; default group1-shard1of1.bin. */
  shardName?: string;
}

/** Builds the model's files; `shardName` defaults to group1-shard1of1.bin. */
export function buildCocoSsdGraphModel(anchors: readonly FixtureAnchor[], layout: FixtureLayout = COCO_SSD_FIXTURE_LAYOUT, options: FixtureOptions = {}): GraphModelFiles {
  const shardName = options.shardName ?? 'group1-shard1of1.bin';
  const K = anchors.length;
  const C = layout.classes;
  if (K < 1 || K > layout.anchors) throw new Error(`1..${layout.anchors} anchors, received ${K}`);
  const base = new Float32Array(K * C); // [1, K, C]
  const gain = new Float32Array(K * C); // [1, K, C]
  const boxes = new Float32Array(K * 4); // [1, K, 1, 4]
  anchors.forEach((a, k) => {
    for (const [c, s] of Object.entries(a.scores)) base[k * C + Number(c)] = s;
    for (const [c, g] of Object.entries(a.gain ?? {})) gain[k * C + Number(c)] = g;
    boxes.set(a.box, k * 4);
  });
  const rest = layout.anchors - K;
  const consts: ConstSpec[] = [
    { name: 'mean_axes', dtype: 'int32', shape: [3], values: [1, 2, 3] },
    { name: 'inv255', dtype: 'float32', shape: [], values: [1 / 255] },
    { name: 'zero', dtype: 'float32', shape: [], values: [0] },
    { name: 'shape3', dtype: 'int32', shape: [3], values: [-1, 1, 1] },
    { name: 'shape4', dtype: 'int32', shape: [4], values: [-1, 1, 1, 1] },
    { name: 'score_base', dtype: 'float32', shape: [1, K, C], values: base },
    { name: 'score_gain', dtype: 'float32', shape: [1, K, C], values: gain },
    { name: 'box_values', dtype: 'float32', shape: [1, K, 1, 4], values: boxes },
    { name: 'score_pads', dtype: 'int32', shape: [3, 2], values: [0, 0, 0, rest, 0, 0] },
    { name: 'box_pads', dtype: 'int32', shape: [4, 2], values: [0, 0, 0, rest, 0, 0, 0, 0] },
    ...(options.dynamic ? [{ name: 'always', dtype: 'bool', shape: [1], values: [1] } as ConstSpec] : []),
  ];
  const float = { T: { type: 'DT_FLOAT' } };
  const int = { type: 'DT_INT32' };
  const node = [
    { name: 'image_tensor', op: 'Placeholder', attr: { dtype: { type: 'DT_INT32' }, shape: { shape: { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] } } } },
    ...consts.map((c) => ({
      name: c.name,
      op: 'Const',
      attr: { dtype: { type: TF_DTYPE[c.dtype] }, value: { tensor: { dtype: TF_DTYPE[c.dtype], tensorShape: c.shape.length ? { dim: c.shape.map((d) => ({ size: String(d) })) } : {} } } },
    })),
    { name: 'ToFloat', op: 'Cast', input: ['image_tensor'], attr: { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' }, Truncate: { b: false } } },
    { name: 'Mean', op: 'Mean', input: ['ToFloat', 'mean_axes'], attr: { ...float, Tidx: int, keep_dims: { b: true } } },
    ...(options.dynamic
      ? [
          { name: 'Mean_scaled', op: 'Mul', input: ['Mean', 'inv255'], attr: float },
          // Where([true]) = [[0]]: [1, 1] int32 of a shape known only at run time.
          { name: 'where', op: 'Where', input: ['always'], attr: { T: { type: 'DT_BOOL' } } },
          { name: 'where_float', op: 'Cast', input: ['where'], attr: { SrcT: { type: 'DT_INT64' }, DstT: { type: 'DT_FLOAT' } } },
          { name: 'where_zero', op: 'Mul', input: ['where_float', 'zero'], attr: float },
          { name: 'where_zero4', op: 'Reshape', input: ['where_zero', 'shape4'], attr: { ...float, Tshape: int } },
          { name: 'brightness', op: 'AddV2', input: ['Mean_scaled', 'where_zero4'], attr: float },
        ]
      : [{ name: 'brightness', op: 'Mul', input: ['Mean', 'inv255'], attr: float }]),
    { name: 'brightness3', op: 'Reshape', input: ['brightness', 'shape3'], attr: { ...float, Tshape: int } },
    { name: 'brightness4', op: 'Reshape', input: ['brightness', 'shape4'], attr: { ...float, Tshape: int } },
    { name: 'scaled_gain', op: 'Mul', input: ['brightness3', 'score_gain'], attr: float },
    { name: 'first_scores', op: 'AddV2', input: ['scaled_gain', 'score_base'], attr: float },
    { name: 'Postprocessor/Slice', op: 'Pad', input: ['first_scores', 'score_pads'], attr: { ...float, Tpaddings: int } },
    { name: 'batch_zero', op: 'Mul', input: ['brightness4', 'zero'], attr: float },
    { name: 'first_boxes', op: 'AddV2', input: ['batch_zero', 'box_values'], attr: float },
    { name: 'Postprocessor/ExpandDims_1', op: 'Pad', input: ['first_boxes', 'box_pads'], attr: { ...float, Tpaddings: int } },
  ];
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'ssdpipe test fixture',
    convertedBy: 'ssdpipe test fixture',
    modelTopology: { node, library: {}, versions: {} },
    weightsManifest: [{ paths: [shardName], weights: consts.map((c) => ({ name: c.name, shape: c.shape, dtype: c.dtype })) }],
  };
  return { modelJson, shards: { [shardName]: weightBytes(consts) } };
}

/** The consts' values, little-endian, in order. */
function weightBytes(consts: readonly ConstSpec[]): Uint8Array {
  const bytesOf = (c: ConstSpec): number => (c.dtype === 'bool' ? 1 : 4);
  const size = consts.reduce((n, c) => n + c.values.length * bytesOf(c), 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const c of consts) {
    for (let i = 0; i < c.values.length; i++, o += bytesOf(c)) {
      if (c.dtype === 'float32') view.setFloat32(o, c.values[i], true);
      else if (c.dtype === 'int32') view.setInt32(o, c.values[i], true);
      else view.setUint8(o, c.values[i] ? 1 : 0);
    }
  }
  return out;
}
