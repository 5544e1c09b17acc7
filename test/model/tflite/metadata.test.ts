import { expect } from 'chai';
import { deflateRawSync } from 'node:zlib';
import { importTflite } from '../../../src/model/tflite/import-tflite.js';
import { labelFileNames, readZipEntries } from '../../../src/model/tflite/metadata.js';
import { buildTflite, concat, metadataWithLabels, storedZip, tinySsdDef } from '../../helpers/tflite-builder.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('model/tflite/metadata', () => {
  it('finds the label file named by the metadata (output tensor, TENSOR_VALUE_LABELS)', () => {
    expect(labelFileNames(metadataWithLabels('labelmap.txt'))).to.deep.equal(['labelmap.txt']);
    expect(labelFileNames(new Uint8Array(16))).to.deep.equal([]);
  });

  it('reads a zip appended to other bytes (stored and deflated entries)', () => {
    const zip = storedZip([{ name: 'a.txt', data: text('alpha') }, { name: 'b.txt', data: text('beta') }]);
    const entries = readZipEntries(concat([new Uint8Array(1000).fill(7), zip]));
    expect([...entries.keys()]).to.deep.equal(['a.txt', 'b.txt']);
    expect(new TextDecoder().decode(entries.get('b.txt'))).to.equal('beta');
    // deflated: method 8 in both headers
    const body = deflateRawSync(text('gamma gamma gamma'));
    const deflated = storedZip([{ name: 'c.txt', data: body }]);
    const v = new DataView(deflated.buffer);
    v.setUint16(8, 8, true);
    v.setUint32(22, 17, true);
    const cd = 30 + 5 + body.length;
    v.setUint16(cd + 10, 8, true);
    v.setUint32(cd + 24, 17, true);
    expect(new TextDecoder().decode(readZipEntries(deflated).get('c.txt'))).to.equal('gamma gamma gamma');
    expect(readZipEntries(new Uint8Array(100)).size).to.equal(0);
  });

  it('importTflite labels a model from its metadata, and a given label map wins', () => {
    const def = tinySsdDef();
    def.metadata = [{ name: 'TFLITE_METADATA', data: metadataWithLabels('labels.txt') }];
    const bytes = concat([buildTflite(def), storedZip([{ name: 'labels.txt', data: text('cat\ndog\n') }])]);
    const fromMeta = importTflite(bytes, { source: 'tiny.tflite' });
    expect(fromMeta.labelSource).to.equal('metadata');
    expect(fromMeta.descriptor.labels).to.deep.equal([null, 'cat', 'dog']);
    const given = importTflite(bytes, { source: 'tiny.tflite', labelMap: 'owl\n???\n' });
    expect(given.labelSource).to.equal('label map');
    expect(given.descriptor.labels).to.deep.equal([null, 'owl', null]);
    const none = importTflite(buildTflite(tinySsdDef()), { source: '/m/tiny.tflite' });
    expect(none.labelSource).to.equal('none');
    expect(none.descriptor.labels).to.deep.equal([null, 'class 0', 'class 1']);
  });
});
