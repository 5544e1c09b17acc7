import { expect } from 'chai';
import { generateAnchors } from '../../../src/model/anchors.js';
import { DEFAULT_TFLITE_SCORE_THRESHOLD, importTflite } from '../../../src/model/tflite/import-tflite.js';
import { buildTflite, POSTPROCESS_OPTIONS, tinySsdDef } from '../../helpers/tflite-builder.js';

describe('model/tflite/import-tflite', () => {
  it('describes the model: name, input, explicit anchors, coder, scores, postprocess defaults', () => {
    const { descriptor: d, graph } = importTflite(buildTflite(tinySsdDef()), { source: '/models/tiny.tflite' });
    expect(d.name).to.equal('tiny');
    expect(d.weights).to.deep.equal({ format: 'tflite', path: '/models/tiny.tflite' });
    expect(d.network).to.deep.equal({ imported: 'tflite', numClasses: 3 });
    expect(d.input.resize).to.equal('stretch');
    expect(generateAnchors(d.anchors).length).to.equal(graph.numAnchors * 4);
    // 1e-8 in the file means "no threshold": ssdpipe's default applies; IoU and count are the file's
    expect(d.postprocess.scoreThreshold).to.equal(DEFAULT_TFLITE_SCORE_THRESHOLD);
    expect(d.postprocess.iouThreshold).to.be.closeTo(0.6, 1e-6);
    expect(d.postprocess.maxDetections).to.equal(10);
    expect(d.postprocess.classAgnostic).to.equal(true);
  });

  it('keeps a real score threshold and per-class NMS when the file asks for them', () => {
    const def = tinySsdDef();
    def.operators[def.operators.length - 1].custom = { ...POSTPROCESS_OPTIONS, nms_score_threshold: 0.3, use_regular_nms: true };
    const { descriptor: d } = importTflite(buildTflite(def), { source: 'x.tflite', name: 'mine' });
    expect(d.name).to.equal('mine');
    expect(d.postprocess.scoreThreshold).to.be.closeTo(0.3, 1e-6);
    expect(d.postprocess.classAgnostic).to.equal(false);
  });
});
