import { expect } from 'chai';
import { ModelError } from '../../src/errors.js';
import { generateAnchors } from '../../src/model/anchors.js';
import type { ModelDescriptor } from '../../src/model/descriptor.js';
import type { SsdGraph } from '../../src/model/ssd-graph.js';
import { readDescriptor, resolveDescriptorPath } from '../../src/model-io/load-model.js';
import { buildOnnxSidecar, formatSidecar, ONNX_SIDECAR_VERSION, sidecarPathFor } from '../../src/onnx/onnx-sidecar.js';
import { DEFAULT_ONNX_OPSET } from '../../src/onnx/onnx-graph.js';

/** The face graph's sizes; the sidecar reads nothing else of the graph, so no weights are loaded. */
const FACE_GRAPH: SsdGraph = { inputHeight: 512, inputWidth: 512, numAnchors: 5118, numClasses: 3, layers: [], heads: [] };

describe('onnx/onnx-sidecar', () => {
  let face: ModelDescriptor;

  before(() => {
    face = readDescriptor(resolveDescriptorPath('face'));
  });

  it('names the sidecar after the model file', () => {
    expect(sidecarPathFor('/x/face.onnx')).to.equal('/x/face.json');
    expect(sidecarPathFor('/x/face.ONNX')).to.equal('/x/face.json');
    expect(sidecarPathFor('/x/face')).to.equal('/x/face.json');
    expect(sidecarPathFor('/x/face.onnx.bak')).to.equal('/x/face.onnx.bak.json');
  });

  it('describes the input, the outputs and how to decode them', () => {
    const s = buildOnnxSidecar(face, FACE_GRAPH, 'nchw', 'face.onnx');
    expect(s).to.deep.include({ format: 'ssdpipe-onnx-sidecar', version: ONNX_SIDECAR_VERSION, model: 'face', onnx: 'face.onnx', opset: DEFAULT_ONNX_OPSET });
    expect(s.description).to.equal(face.description);
    expect(s.license).to.equal(face.license);
    expect(s.input).to.deep.equal({
      name: 'image', layout: 'nchw', shape: [-1, 3, 512, 512], dtype: 'float32', channels: 'RGB', resize: 'letterbox',
      normalize: { scale: 0.007843137718737125, offset: -1 },
    });
    expect(buildOnnxSidecar(face, FACE_GRAPH, 'nhwc', 'f.onnx').input.shape).to.deep.equal([-1, 512, 512, 3]);
    expect(Object.keys(s.outputs)).to.deep.equal(['box_encodings', 'class_logits']);
    expect(s.outputs.box_encodings).to.deep.include({ shape: [-1, 5118, 4], dtype: 'float32' });
    expect(s.outputs.class_logits).to.deep.include({ shape: [-1, 5118, 3], dtype: 'float32' });
    expect(s.boxCoder).to.deep.equal({ type: 'tf', scales: [10, 10, 5, 5] });
    expect(s.scores).to.deep.equal({ activation: 'sigmoid', backgroundClass: 0 });
    expect(s.labels).to.deep.equal([null, 'face', null]);
    expect(s.postprocess).to.deep.equal({ scoreThreshold: 0.5, iouThreshold: 0.5, maxDetections: 100 });
  });

  it('lists the 5118 anchors as cy, cx, h, w, each reading back as the generator\'s float32', () => {
    const s = buildOnnxSidecar(face, FACE_GRAPH, 'nhwc', 'face.onnx');
    expect(s.anchors.format).to.equal('cy,cx,h,w');
    expect(s.anchors.count).to.equal(5118);
    expect(s.anchors.values).to.have.length(5118);
    const gen = generateAnchors(face.anchors);
    s.anchors.values.forEach((a, i) => {
      expect(a).to.have.length(4);
      for (let k = 0; k < 4; k++) if (Math.fround(a[k]) !== gen[i * 4 + k]) expect.fail(`anchor ${i}[${k}]: ${a[k]} vs ${gen[i * 4 + k]}`);
    });
  });

  it('does not share the descriptor\'s arrays (editing the sidecar leaves the model alone)', () => {
    const s = buildOnnxSidecar(face, FACE_GRAPH, 'nhwc', 'face.onnx');
    s.labels[1] = 'changed';
    s.postprocess.maxDetections = 1;
    expect(face.labels[1]).to.equal('face');
    expect(face.postprocess.maxDetections).to.equal(100);
  });

  it('refuses a graph whose anchor count differs from the anchor spec: E_MODEL with both counts', () => {
    let err: unknown;
    try {
      buildOnnxSidecar(face, { ...FACE_GRAPH, numAnchors: 5117 }, 'nhwc', 'face.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ModelError);
    expect(err).to.include({ code: 'E_MODEL', message: 'model face: the anchor spec gives 5118 anchors but the network has 5117' });
    expect((err as ModelError).hint).to.match(/anchorsPerCell/);
  });

  it('formatSidecar round-trips through JSON, one anchor per line, ending with a newline', () => {
    const s = buildOnnxSidecar(face, FACE_GRAPH, 'nhwc', 'face.onnx');
    const text = formatSidecar(s);
    expect(JSON.parse(text)).to.deep.equal(s);
    expect(text.endsWith('}\n')).to.equal(true);
    const lines = text.split('\n');
    expect(lines.filter((l) => /^\s*\[-?[\d.e-]+, -?[\d.e-]+, -?[\d.e-]+, -?[\d.e-]+\],?$/.test(l))).to.have.length(5118);
    expect(lines.length).to.be.below(5118 + 100);
    expect(text).to.include('"shape": [-1, 512, 512, 3]');
  });

  it('formatSidecar leaves strings with brackets alone when they hold no spaced number list', () => {
    const s = buildOnnxSidecar(face, FACE_GRAPH, 'nhwc', 'face.onnx');
    s.description = 'anchors [1,2,\n3] and [4]';
    expect(JSON.parse(formatSidecar(s)).description).to.equal('anchors [1,2,\n3] and [4]');
  });

  // Number lists inside strings are text: "scales [ 10, 10, 5, 5 ]" in a description must be
  // written as the descriptor said it, not compacted like an array.
  it('formatSidecar round-trips strings holding spaced number lists', () => {
    const s = buildOnnxSidecar(face, FACE_GRAPH, 'nhwc', 'face.onnx');
    s.description = 'scales [ 10, 10, 5, 5 ], pads [1,  2]';
    expect(JSON.parse(formatSidecar(s)).description).to.equal('scales [ 10, 10, 5, 5 ], pads [1,  2]');
    // Escaped quotes and backslashes do not end a string early; labels are strings too.
    s.description = 'a \\"quoted\\" [ 1, 2 ] and a backslash \\\\ [ 3,  4 ]';
    s.labels = ['[ 1, 2 ]', null, 'x'];
    const text = formatSidecar(s);
    expect(JSON.parse(text)).to.deep.equal(s);
    expect(text).to.include('"shape": [-1, 512, 512, 3]');
  });
});
