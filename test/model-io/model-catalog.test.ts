import { expect } from 'chai';
import { catalogFileUrl, findCatalogEntry, MODEL_CATALOG } from '../../src/model-io/model-catalog.js';

describe('model-io/model-catalog', () => {
  it('points at the publishers\' URLs: coco-ssd\'s three TF.js bases and the TFLite starter archive', () => {
    const urls = Object.fromEntries(MODEL_CATALOG.map((e) => [e.name, catalogFileUrl(e, e.format === 'tflite-zip' ? e.archive.file : e.entry.file)]));
    expect(urls).to.deep.equal({
      'coco-ssd-mobilenet-v1-quant': 'https://storage.googleapis.com/download.tensorflow.org/models/tflite/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29.zip',
      'coco-ssdlite-mobilenet-v2': 'https://storage.googleapis.com/tfjs-models/savedmodel/ssdlite_mobilenet_v2/model.json',
      'coco-ssd-mobilenet-v1': 'https://storage.googleapis.com/tfjs-models/savedmodel/ssd_mobilenet_v1/model.json',
      'coco-ssd-mobilenet-v2': 'https://storage.googleapis.com/tfjs-models/savedmodel/ssd_mobilenet_v2/model.json',
    });
    expect(catalogFileUrl(findCatalogEntry('coco-ssd-mobilenet-v2')!, 'group1-shard3of17')).to.equal('https://storage.googleapis.com/tfjs-models/savedmodel/ssd_mobilenet_v2/group1-shard3of17');
  });

  it('pins the size and SHA-256 of the archive\'s detect.tflite, the only published ones', () => {
    const tflite = findCatalogEntry('coco-ssd-mobilenet-v1-quant')!;
    expect(tflite.entry).to.deep.equal({ file: 'detect.tflite', size: 4_183_312, sha256: 'e4b118e5e4531945de2e659742c7c590f7536f8d0ed26d135abcfe83b4779d13' });
    for (const e of MODEL_CATALOG.filter((x) => x.format === 'tfjs-graph')) expect(e.entry).to.deep.equal({ file: 'model.json' });
  });

  it('a mirror replaces the publisher: <mirror>/<name>/<file>', () => {
    const e = findCatalogEntry('coco-ssd-mobilenet-v1')!;
    expect(catalogFileUrl(e, 'model.json', 'http://127.0.0.1:8080/models/')).to.equal('http://127.0.0.1:8080/models/coco-ssd-mobilenet-v1/model.json');
    expect(findCatalogEntry('face')).to.equal(undefined);
  });
});
