import { accessSync, constants, statSync, statfsSync, type Stats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { OptionError, OutputError } from '../errors.js';

/**
 * Output paths are checked once, before decoding starts, so that a run never works for minutes
 * and then finds it cannot write (or, worse, hangs: Node's recursive mkdir loops forever on a
 * path under /proc, where mkdir answers ENOENT). The check only looks (stat, access, statfs);
 * nothing is created until createOutputDirs.
 */

/** Which output a path is for: the --jsonl, --video and --stats of a run. */
export type OutputKind = 'jsonl' | 'video' | 'stats';

/** What the file will hold, chosen by its extension. */
export type OutputFormat = 'jsonl' | 'json' | 'mp4' | 'mov' | 'jpg' | 'png';

/** A checked output path. */
export interface OutputTarget {
  readonly kind: OutputKind;
  /** The path as the user gave it, for messages. */
  readonly shownPath: string;
  /** Absolute path, or '-' for stdout. */
  readonly path: string;
  readonly format: OutputFormat;
  /** `-`: the output goes to stdout (JSONL only). */
  readonly toStdout: boolean;
  /**
   * The target exists and is not a regular file (/dev/null, /dev/full, a FIFO): it is written in
   * place, with no temporary file renamed over it.
   */
  readonly inPlace: boolean;
  /** Directories to create, outermost first; empty when the folder exists. */
  readonly missingDirs: readonly string[];
}

/** What is known about the run when its outputs are checked. */
export interface CheckOutputOptions {
  /** The input is a still image (true), a video (false), or not probed yet (undefined). */
  stillImage?: boolean;
}

/** The command-line flag of each kind, for messages. */
export const OUTPUT_FLAGS: Readonly<Record<OutputKind, string>> = { jsonl: '--jsonl', video: '--video', stats: '--stats' };

const VIDEO_FORMATS: Readonly<Record<string, OutputFormat>> = { '.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mov' };
const IMAGE_FORMATS: Readonly<Record<string, OutputFormat>> = { '.jpg': 'jpg', '.jpeg': 'jpg', '.png': 'png' };

/**
 * Linux file systems whose folders take no new regular files although access(2) may say they
 * are writable (root): proc, sysfs, cgroup, cgroup2, debugfs, securityfs, tracefs, bpf, configfs.
 */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'], [0x74726163, 'tracefs'], [0xcafe4a11, 'bpf'], [0x62656570, 'configfs'],
]);

/**
 * Checks an output path without writing anything: its extension fits the output (--video
 * .mp4/.m4v/.mov, or .jpg/.jpeg/.png for a still image; --stats .json; --jsonl any name or '-'),
 * it is not a directory, and it can be created: the nearest existing folder is a writable
 * directory on a file system that takes files. Throws OptionError (exit 2) for a name that does
 * not fit, OutputError (exit 6) for a place that cannot be written.
 */
export function checkOutputPath(kind: OutputKind, file: string, options: CheckOutputOptions = {}): OutputTarget {
  const flag = OUTPUT_FLAGS[kind];
  if (typeof file !== 'string' || file === '') throw new OptionError(flag, 'a file path', file, `give ${flag} a file name`);
  if (file === '-') return { kind, shownPath: file, path: '-', format: formatOf(kind, file, options.stillImage, false), toStdout: true, inPlace: false, missingDirs: [] };

  const target = path.resolve(file);
  const fail = (reason: string, cause?: unknown): never => {
    throw new OutputError(`cannot write ${flag} ${file}: ${reason}`, {
      cause,
      hint: 'choose a path in a folder you can write to (the folder is created if it is missing)',
    });
  };
  const existing = statOrNull(target, fail);
  const inPlace = existing !== null && !existing.isFile() && !existing.isDirectory();
  const format = formatOf(kind, file, options.stillImage, inPlace);
  if (existing?.isDirectory()) fail('it is a directory');
  if (existing) {
    checkWritable(target, fail);
    if (!inPlace) checkFileSystem(path.dirname(target), fail);
    // The video goes to a temporary file next to the target, renamed over it when complete.
    if (kind === 'video' && !inPlace) checkWritable(path.dirname(target), fail);
    return { kind, shownPath: file, path: target, format, toStdout: false, inPlace, missingDirs: [] };
  }
  const missingDirs: string[] = [];
  let dir = path.dirname(target);
  for (;;) {
    const st = statOrNull(dir, fail);
    if (st) {
      if (!st.isDirectory()) fail(`${dir} is a file, not a folder`);
      break;
    }
    missingDirs.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) fail(`no existing folder above ${dir}`);
    dir = parent;
  }
  checkWritable(dir, fail);
  checkFileSystem(dir, fail);
  return { kind, shownPath: file, path: target, format, toStdout: false, inPlace: false, missingDirs };
}

/**
 * Creates the folders a checked target lacks, one level at a time (Node's recursive mkdir can
 * loop forever where mkdir answers ENOENT, as under /proc). Throws OutputError.
 */
export async function createOutputDirs(target: OutputTarget): Promise<void> {
  for (const dir of target.missingDirs) {
    try {
      await mkdir(dir);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // made meanwhile (another output, another run)
      throw new OutputError(`cannot write ${OUTPUT_FLAGS[target.kind]} ${target.shownPath}: cannot create folder ${dir}: ${errnoText(cause)}`, {
        cause,
        hint: 'choose a path in a folder you can write to',
      });
    }
  }
}

/**
 * The format an output's name asks for, or an OptionError saying which names fit. A device or
 * FIFO (/dev/null, /dev/full, a named pipe) needs no extension: it gets JSON or MP4.
 */
function formatOf(kind: OutputKind, file: string, stillImage: boolean | undefined, device: boolean): OutputFormat {
  const flag = OUTPUT_FLAGS[kind];
  if (kind === 'jsonl') return 'jsonl';
  if (file === '-') throw new OptionError(flag, 'a file path (only --jsonl writes to stdout)', file, `give ${flag} a file name`);
  const ext = path.extname(file).toLowerCase();
  if (kind === 'stats') {
    if (ext === '.json' || device) return 'json';
    throw new OptionError(flag, 'a .json file', file, 'the run summary is written as JSON: name the file <name>.json');
  }
  const video = VIDEO_FORMATS[ext];
  if (video) return video;
  const image = IMAGE_FORMATS[ext];
  if (image && stillImage === false) {
    throw new OptionError(flag, 'a .mp4, .m4v or .mov file for a video input', file, 'a .jpg or .png output holds one annotated picture: use it with a still image input');
  }
  if (image) return image;
  if (device) return 'mp4';
  throw new OptionError(flag, 'a .mp4, .m4v or .mov file (or .jpg, .jpeg, .png for a still image input)', file, 'the output format follows the file extension');
}

function statOrNull(p: string, fail: (reason: string, cause?: unknown) => never): Stats | null {
  try {
    return statSync(p);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    // ENOTDIR: a folder above is a file; the walk up finds which and says so.
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    return fail(errnoText(cause), cause);
  }
}

function checkWritable(p: string, fail: (reason: string, cause?: unknown) => never): void {
  try {
    accessSync(p, constants.W_OK);
  } catch (cause) {
    fail(`${p}: ${errnoText(cause)}`, cause);
  }
}

function checkFileSystem(dir: string, fail: (reason: string, cause?: unknown) => never): void {
  if (process.platform !== 'linux') return;
  let type: number;
  try {
    type = statfsSync(dir).type;
  } catch {
    return; // statfs is only a second opinion after access(2)
  }
  const name = PSEUDO_FS.get(type);
  if (name) fail(`${dir} is on ${name}, a virtual file system that holds no files`);
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EEXIST: 'a part of the path is a file, not a folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or folder',
  EFBIG: 'file too large',
  EIO: 'input/output error',
};

/** A short one-line reason for a file system error, e.g. 'no space left on device (ENOSPC)'. */
export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code) return ERRNO_TEXT[code] ? `${ERRNO_TEXT[code]} (${code})` : code;
  return String((err as Error | null)?.message ?? err).split('\n')[0];
}
