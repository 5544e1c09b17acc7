/**
 * What a file source found once its input ended (snake_case: it goes into --stats as it is).
 * A truncated or damaged input still completes: the frames that could be decoded were.
 */
export interface SourceReport {
  readonly source: string;
  /** Frames the container declares (nb_frames; 1 for an image), null when it does not say. */
  readonly declared_frames: number | null;
  /** Frames decoded and emitted. */
  readonly decoded_frames: number;
  /**
   * The input ends early: ffmpeg found the file cut short ('partial file'), or it gave fewer
   * frames than declared (by more than 4 frames or 2 %: an edit list may hide a few).
   */
  readonly truncated: boolean;
  /** Error messages ffmpeg printed about damaged data it skipped or concealed; decoding went on. */
  readonly decode_errors: number;
  /** The first of them, for the warning. */
  readonly first_error: string | null;
}

/**
 * The warning lines a report calls for (none for a clean input), e.g.
 * "people.mp4 is truncated: 42 of the 75 frames its container declares were decoded".
 */
export function sourceWarnings(r: SourceReport): string[] {
  const out: string[] = [];
  if (r.truncated) {
    const of = r.declared_frames === null ? '' : ` of the ${r.declared_frames} frames its container declares`;
    out.push(`${r.source} is truncated: ${r.decoded_frames}${of} were decoded; the file ends early (cut off or not finished writing)`);
  }
  if (r.decode_errors > 0) {
    out.push(`${r.source} is damaged: ffmpeg reported ${r.decode_errors} decoding error${r.decode_errors === 1 ? '' : 's'} (first: ${r.first_error}); decoding went on past them`);
  }
  return out;
}
