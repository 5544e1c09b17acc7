/*
 * Label maps of TFLite detection models: one label per line, line i naming the post-process's
 * class i (labelmap.txt of the COCO SSD: line 0 is person). '???' marks an id the dataset does
 * not use (COCO skips 11 of its 91 ids).
 */

/** Marks an unused class id in a label map. */
export const UNUSED_LABEL = '???';

/**
 * Parses a label map: one label per line; '???' and empty lines are null; trailing empty lines
 * dropped. Given the post-process's class count, a map of exactly numClasses + 1 lines whose
 * first is '???' is the TFLite zip's raw labelmap.txt, whose line 0 is the background: that line
 * is dropped so that line 0 is class 0 (else every label would name the class after it).
 */
export function parseLabelMap(text: string, numClasses?: number): (string | null)[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (numClasses !== undefined && lines.length === numClasses + 1 && lines[0] === UNUSED_LABEL) lines.shift();
  return lines.map((l) => (l === '' || l === UNUSED_LABEL ? null : l));
}

/**
 * One label per score column: column c is class c - labelOffset of the label map (columns
 * before labelOffset are background, null). Without a label map, `class <n>` by that class id.
 * Columns past the end of the label map are null (never reported).
 */
export function columnLabels(labelMap: readonly (string | null)[] | null, numColumns: number, labelOffset: number): (string | null)[] {
  return Array.from({ length: numColumns }, (_, c) => {
    const id = c - labelOffset;
    if (id < 0) return null;
    if (!labelMap) return `class ${id}`;
    return labelMap[id] ?? null;
  });
}
