import { expect } from 'chai';
import { columnLabels, parseLabelMap } from '../../../src/model/tflite/labels.js';

describe('model/tflite/labels', () => {
  it('parses a label map: one per line, ??? and blanks are null, trailing blank lines dropped', () => {
    expect(parseLabelMap('\uFEFFperson\r\nbicycle\n???\n\ncar\n\n')).to.deep.equal(['person', 'bicycle', null, null, 'car']);
  });

  it('drops the background line of a raw TFLite labelmap.txt: numClasses + 1 lines, the first ???', () => {
    expect(parseLabelMap('???\nperson\nbicycle\n???\n', 3)).to.deep.equal(['person', 'bicycle', null]);
    expect(parseLabelMap('\uFEFF???\r\nperson\r\nbicycle\r\ncar', 3)).to.deep.equal(['person', 'bicycle', 'car']);
    // Anything else is read line for line: a leading ??? is then an unused id, not the background.
    expect(parseLabelMap('???\nperson\nbicycle', 3), 'numClasses lines').to.deep.equal([null, 'person', 'bicycle']);
    expect(parseLabelMap('???\nperson\nbicycle\ncar\nbus', 3), 'numClasses + 2 lines').to.deep.equal([null, 'person', 'bicycle', 'car', 'bus']);
    expect(parseLabelMap('background\nperson\nbicycle\ncar', 3), 'first line not ???').to.deep.equal(['background', 'person', 'bicycle', 'car']);
    expect(parseLabelMap('???\nperson\nbicycle\ncar'), 'no class count').to.deep.equal([null, 'person', 'bicycle', 'car']);
  });

  it('maps score columns to label lines: column c is line c - labelOffset; background is null', () => {
    const map = ['person', 'bicycle', null];
    expect(columnLabels(map, 4, 1)).to.deep.equal([null, 'person', 'bicycle', null]);
    expect(columnLabels(map, 5, 1)).to.deep.equal([null, 'person', 'bicycle', null, null]);
    expect(columnLabels(map, 2, 0)).to.deep.equal(['person', 'bicycle']);
  });

  it('without a label map, names classes by the post-process\'s class id', () => {
    expect(columnLabels(null, 3, 1)).to.deep.equal([null, 'class 0', 'class 1']);
  });
});
