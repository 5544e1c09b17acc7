import { expect } from 'chai';
import { createOnnxEngine } from '../../../src/engines/onnx.js';
import { createTfjsEngine } from '../../../src/engines/tfjs.js';
import { ModelError } from '../../../src/errors.js';
import { readTflite } from '../../../src/model/tflite/read-tflite.js';
import { activationForRange, tfliteToSsd } from '../../../src/model/tflite/tflite-to-ssd.js';
import { referenceSsd } from '../../helpers/reference-conv.js';
import { ACT, buildTflite, OP, tinySsdDef, type ModelDef } from '../../helpers/tflite-builder.js';

const lower = (def: ModelDef = tinySsdDef()) => tfliteToSsd(readTflite(buildTflite(def)), { source: 'tiny.tflite' });

describe('model/tflite/tflite-to-ssd', function () {
  this.timeout(60_000);

  it('finds both heads through RESHAPE / CONCATENATION / LOGISTIC and the layers down to the input', () => {
    const { graph } = lower();
    expect(graph.layers.map((l) => [l.name, l.input, l.kind])).to.deep.equal([
      ['feat0', 'input', 'conv'],
      ['feat1', 'feat0', 'depthwise'],
      ['head0/box', 'feat0', 'conv'],
      ['head0/class', 'feat0', 'conv'],
      ['head1/box', 'feat1', 'conv'],
      ['head1/class', 'feat1', 'conv'],
    ]);
    expect(graph.heads).to.deep.equal([
      { boxLayer: 'head0/box', classLayer: 'head0/class', anchorsPerCell: 1, height: 3, width: 3 },
      { boxLayer: 'head1/box', classLayer: 'head1/class', anchorsPerCell: 2, height: 1, width: 1 },
    ]);
    expect([graph.inputHeight, graph.inputWidth, graph.numAnchors, graph.numClasses]).to.deep.equal([6, 6, 11, 3]);
  });

  it('lowers SAME and VALID padding, strides, the depth multiplier and the activations', () => {
    const [c0, dw] = lower().graph.layers;
    expect(c0).to.deep.include({ kernel: 3, stride: 2, inChannels: 3, outChannels: 4, inHeight: 6, outHeight: 3, activation: 'relu6' });
    expect(c0.pads).to.deep.equal([0, 0, 1, 1]); // TF SAME: the extra pixel bottom/right
    // RELU fused, output uint8 with scale 0.05: ReLU clipped at 255 * 0.05
    expect(dw).to.deep.include({ kind: 'depthwise', kernel: 3, stride: 1, inChannels: 4, outChannels: 8, outHeight: 1, activation: 'linear' });
    expect(dw.pads).to.deep.equal([0, 0, 0, 0]);
    expect(dw.clip![0]).to.equal(0);
    expect(dw.clip![1]).to.be.closeTo(12.75, 1e-5);
  });

  it('dequantizes weights into TF layout and biases with input scale x weight scale', () => {
    const def = tinySsdDef();
    const m = readTflite(buildTflite(def));
    const { graph } = tfliteToSsd(m, { source: 'tiny.tflite' });
    const q = (name: string) => m.tensors.find((t) => t.name === name)!;
    // conv0 TFLite [out=4, 3, 3, in=3] -> TF [3, 3, 3, 4]: element (o=2, y=1, x=0, i=1)
    const w = q('conv0/weights').data!;
    const c0 = graph.layers[0];
    expect(c0.weights[((1 * 3 + 0) * 3 + 1) * 4 + 2]).to.be.closeTo(0.02 * (w[((2 * 3 + 1) * 3 + 0) * 3 + 1] - 128), 1e-6);
    const b = new Int32Array(q('conv0/bias').data!.slice().buffer);
    expect(c0.bias[3]).to.be.closeTo(b[3] * (1 / 128) * 0.02, 1e-7);
    // head0/box: int8 per output channel, bias scale (6/255) x the channel's scale
    const hw = new Int8Array(q('head0/box/weights').data!.slice().buffer);
    const box = graph.layers[2];
    expect(box.weights[2 * 4 + 3]).to.be.closeTo(0.04 * hw[3 * 4 + 2], 1e-6); // [1,1,in=2,out=3] <- [out=3,1,1,in=2]
    const hb = new Int32Array(q('head0/box/bias').data!.slice().buffer);
    expect(box.bias[1]).to.be.closeTo(hb[1] * 0.02 * (6 / 255), 1e-7);
  });

  it('takes anchors, box coder, scores and NMS settings from the post-process op', () => {
    const ssd = lower();
    expect(ssd.anchors.length).to.equal(44);
    const raw = tinySsdDef().tensors.find((t) => t.name === 'anchors')!.data!;
    expect(ssd.anchors[5]).to.be.closeTo(raw[5] * 0.006, 1e-7);
    expect(ssd.boxCoder).to.deep.equal({ type: 'tf', scales: [10, 10, 5, 5] });
    expect(ssd.scores).to.deep.equal({ activation: 'sigmoid', backgroundClass: 0 });
    expect(ssd.labelOffset).to.equal(1);
    expect(ssd.nms).to.deep.include({ numClasses: 2, maxDetections: 10, maxClassesPerDetection: 1, useRegularNms: false });
    expect(ssd.nms.iouThreshold).to.be.closeTo(0.6, 1e-6);
    expect(ssd.input).to.deep.equal({ width: 6, height: 6, resize: 'stretch', normalize: { scale: 1 / 128, offset: -1 } });
  });

  it('clips each head to the quantized ranges on its way to the post-process (logits before LOGISTIC)', () => {
    const cls = lower().graph.layers.find((l) => l.name === 'head0/class')!;
    // uint8 scale 0.05, zero point 200: [-10, 2.75]; the sigmoid's [0, 1) range does not apply
    expect(cls.activation).to.equal('linear');
    expect(cls.clip![0]).to.be.closeTo(-10, 1e-5);
    expect(cls.clip![1]).to.be.closeTo(2.75, 1e-5);
  });

  it('an unsupported operator is a ModelError naming it and the model file', () => {
    const def = tinySsdDef();
    // MAX_POOL_2D between the input and the first conv
    const pooled = def.tensors.push({ name: 'pooled', shape: [1, 6, 6, 3], type: 3, scale: [1 / 128], zeroPoint: [128] }) - 1;
    def.operators.unshift({ op: OP.MAX_POOL_2D, inputs: [def.inputs[0]], outputs: [pooled] });
    def.operators[1].inputs[0] = pooled;
    expect(() => lower(def)).to.throw(ModelError, /tiny\.tflite: operator 0 \(MAX_POOL_2D\) is not supported/);
    const tanh = tinySsdDef();
    tanh.operators[0].options = { type: 'conv', padding: 'SAME', stride: 2, activation: ACT.TANH };
    expect(() => lower(tanh)).to.throw(ModelError, /CONV_2D\) with fused activation TANH is not supported/);
    const noPost = tinySsdDef();
    noPost.operators.pop();
    expect(() => lower(noPost)).to.throw(ModelError, /tiny\.tflite: expected one TFLite_Detection_PostProcess operator, found 0/);
  });

  it('picks ReLU6 / ReLU for their ranges within the tolerance, else a clip', () => {
    expect(activationForRange(0, 5.99976, 0.0118)).to.deep.equal({ activation: 'relu6' });
    expect(activationForRange(0, Infinity)).to.deep.equal({ activation: 'relu' });
    expect(activationForRange(-Infinity, Infinity)).to.deep.equal({ activation: 'linear' });
    expect(activationForRange(0, 5.7)).to.deep.equal({ activation: 'linear', clip: [0, 5.7] });
  });

  for (const engine of ['onnx', 'tfjs'] as const) {
    it(`${engine}: runs the lowered graph (VALID pads, depth multiplier, ReLU, clips) like the plain-JS reference`, async () => {
      const { graph } = lower();
      const e = engine === 'onnx' ? await createOnnxEngine(graph, { threads: 1, cacheDir: null }) : await createTfjsEngine(graph, { backend: 'cpu' });
      try {
        const input = Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.7) * 1.5);
        const out = await e.run(input, 2);
        const ref = referenceSsd(graph, input, 2);
        let max = 0;
        for (let i = 0; i < ref.classLogits.length; i++) max = Math.max(max, Math.abs(ref.classLogits[i] - out.classLogits[i]));
        for (let i = 0; i < ref.boxEncodings.length; i++) max = Math.max(max, Math.abs(ref.boxEncodings[i] - out.boxEncodings[i]));
        expect(max).to.be.below(1e-4);
        // the clips bite: some logits sit at the top of head 0's range
        expect(Math.max(...ref.classLogits)).to.be.closeTo(2.75, 1e-5);
      } finally {
        await e.dispose();
      }
    });
  }
});
