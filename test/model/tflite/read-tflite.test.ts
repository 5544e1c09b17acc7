import { expect } from 'chai';
import { ModelError } from '../../../src/errors.js';
import { readTflite } from '../../../src/model/tflite/read-tflite.js';
import { BUILTIN_OPERATORS } from '../../../src/model/tflite/schema.js';
import { buildTflite, OP, POSTPROCESS_OPTIONS, tinySsdDef } from '../../helpers/tflite-builder.js';

describe('model/tflite/read-tflite', () => {
  const bytes = buildTflite(tinySsdDef());

  it('names builtin operators by their schema.fbs codes', () => {
    expect(BUILTIN_OPERATORS.indexOf('CONV_2D')).to.equal(3);
    expect(BUILTIN_OPERATORS.indexOf('LOGISTIC')).to.equal(14);
    expect(BUILTIN_OPERATORS.indexOf('RESHAPE')).to.equal(22);
    expect(BUILTIN_OPERATORS.indexOf('CUSTOM')).to.equal(32);
    expect(BUILTIN_OPERATORS.indexOf('ROUND')).to.equal(116);
  });

  it('reads tensors: name, shape, type, constant data, per-tensor and per-channel quantization', () => {
    const m = readTflite(bytes);
    expect(m.tensors).to.have.length(tinySsdDef().tensors.length);
    const input = m.tensors[m.inputs[0]];
    expect(input).to.deep.include({ name: 'image', shape: [1, 6, 6, 3], type: 'UINT8', data: null });
    expect(input.quantization).to.deep.equal({ scale: [1 / 128], zeroPoint: [128], quantizedDimension: 0 });
    const w = m.tensors.find((t) => t.name === 'head0/box/weights')!;
    expect(w.type).to.equal('INT8');
    expect(w.data!.length).to.equal(16);
    expect(w.quantization!.scale.map((s) => +s.toFixed(6))).to.deep.equal([0.01, 0.02, 0.03, 0.04]);
    expect(m.tensors.find((t) => t.name === 'conv0/bias')!.type).to.equal('INT32');
    expect(m.description).to.equal('ssdpipe test model');
    expect(m.outputs).to.have.length(4);
  });

  it('reads operators with their options, and custom options as a flexbuffer map', () => {
    const m = readTflite(bytes);
    expect(m.operators.map((o) => o.op)).to.deep.equal([
      'CONV_2D', 'DEPTHWISE_CONV_2D', 'CONV_2D', 'RESHAPE', 'CONV_2D', 'RESHAPE', 'CONV_2D', 'RESHAPE', 'CONV_2D', 'RESHAPE',
      'CONCATENATION', 'RESHAPE', 'CONCATENATION', 'LOGISTIC', 'TFLite_Detection_PostProcess',
    ]);
    expect(m.operators[0].options).to.deep.equal({ kind: 'conv', conv: { padding: 'SAME', strideW: 2, strideH: 2, dilationW: 1, dilationH: 1, depthMultiplier: 1, activation: 'RELU6' } });
    expect(m.operators[1].options).to.deep.equal({ kind: 'conv', conv: { padding: 'VALID', strideW: 1, strideH: 1, dilationW: 1, dilationH: 1, depthMultiplier: 2, activation: 'RELU' } });
    expect(m.operators[3].options).to.deep.equal({ kind: 'reshape', newShape: [1, 9, 1, 4] });
    expect(m.operators[10].options).to.deep.equal({ kind: 'concatenation', axis: 1, activation: 'NONE' });
    const pp = m.operators[14];
    expect(pp.custom).to.equal(true);
    expect(pp.options.kind).to.equal('custom');
    const values = (pp.options as { values: Record<string, number> }).values;
    expect(values.num_classes).to.equal(POSTPROCESS_OPTIONS.num_classes);
    expect(values.y_scale).to.equal(10);
    expect(values.nms_iou_threshold).to.be.closeTo(0.6, 1e-6);
  });

  it('takes the operator code from builtin_code, or from deprecated_builtin_code in older files', () => {
    const def = tinySsdDef();
    def.operators.unshift({ op: OP.HARD_SWISH, inputs: [0], outputs: [0] });
    expect(readTflite(buildTflite(def)).operators[0].op).to.equal('HARD_SWISH'); // 117, both fields
    const legacy = readTflite(buildTflite({ ...tinySsdDef(), legacyOpcodes: true }));
    expect(legacy.operators[1].op).to.equal('DEPTHWISE_CONV_2D');
  });

  it('rejects bytes that are not a TFLite flatbuffer with a ModelError naming the source', () => {
    expect(() => readTflite(new Uint8Array(100), { source: 'x.tflite' })).to.throw(ModelError, /x\.tflite: expected the file identifier "TFL3"/);
    expect(() => readTflite(new Uint8Array(3), { source: 'y.tflite' })).to.throw(ModelError, /y\.tflite/);
    const truncated = bytes.slice(0, bytes.length >> 1);
    expect(() => readTflite(truncated, { source: 'z.tflite' })).to.throw(ModelError, /z\.tflite/);
  });
});
