import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';
import { SsdpipeError } from '../errors.js';

/** Font family name the annotator draws labels with; bound to the bundled DejaVu Sans. */
export const LABEL_FONT_FAMILY = 'ssdpipe-dejavu-sans';

const require = createRequire(import.meta.url);
let registered = false;

/**
 * Registers DejaVu Sans (from the `dejavu-fonts-ttf` package) with @napi-rs/canvas under
 * LABEL_FONT_FAMILY, once per process, so labels render on machines with no system fonts.
 * Returns the family name to put in `ctx.font`.
 */
export function ensureLabelFont(): string {
  if (registered) return LABEL_FONT_FAMILY;
  let ttf: string;
  try {
    ttf = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf');
  } catch (err) {
    throw new SsdpipeError('E_INTERNAL', 'cannot find the dejavu-fonts-ttf package', {
      cause: err,
      hint: 'reinstall ssdpipe\'s dependencies (npm ci); labels are drawn with the bundled DejaVu Sans font',
    });
  }
  if (GlobalFonts.registerFromPath(ttf, LABEL_FONT_FAMILY) === null) {
    throw new SsdpipeError('E_INTERNAL', `cannot load the label font ${ttf}`, {
      hint: 'the font file may be damaged; reinstall ssdpipe\'s dependencies (npm ci)',
    });
  }
  registered = true;
  return LABEL_FONT_FAMILY;
}
