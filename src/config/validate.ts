import type { z } from 'zod';
import { OptionError } from '../errors.js';
import { engineFields, ffmpegFields, liveFields, modelFields, optionMeta, outputFields, trackingFields, type OptionMeta } from './schema.js';

/** Every option field by its API name. */
const FIELDS: Record<string, z.ZodType> = { ...modelFields, ...trackingFields, ...liveFields, ...engineFields, ...ffmpegFields, ...outputFields };

/** How a field is named in errors: in a file, its path there; else its CLI flag. */
export interface NameStyle {
  /** The pipeline file being read: errors then name `<file>: <field path>`. */
  readonly file?: string;
}

/**
 * Validates a value against a schema and returns it with the defaults filled in, or throws an
 * OptionError for the first bad field: named by its flag (`--score`), or by its path within the
 * file (`pipelines/x.json: outputs.csv`), with what was expected and what was received.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, style: NameStyle = {}): z.output<S> {
  const r = schema.safeParse(value ?? {}, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0]].join('.');
    const known = Object.keys(shapeAt(schema, path) ?? {});
    throw OptionError.unknown(optionName(key, style), known);
  }
  if (path.length === 0 && issue.code === 'invalid_type') {
    throw new OptionError(style.file ?? 'options', 'a JSON object', issue.input);
  }
  if (issue.code === 'custom') {
    // The one cross-field rule: exactly one of input / sources.
    const v = (value ?? {}) as Record<string, unknown>;
    throw new OptionError(optionName('input / sources', style), issue.message, v.input !== undefined ? 'both' : 'neither');
  }
  // A value inside a list or map option (classScores.person) is reported as the option's.
  let meta: OptionMeta | undefined;
  for (let n = path.length; n > 0 && !meta; n--) {
    const f = fieldAt(schema, path.slice(0, n));
    meta = f ? optionMeta.get(f) : undefined;
  }
  const name = style.file || !meta ? optionName(path.join('.'), style) : longFlag(meta.flag);
  throw new OptionError(name, meta?.expected ?? expectedOf(issue), issue.input);
}

/** Checks one option by its API name, e.g. checkOption('threads', 4): the same rule and words everywhere. */
export function checkOption<T>(key: keyof typeof FIELDS & string, value: T): T {
  const schema = FIELDS[key];
  const r = schema.safeParse(value);
  if (r.success) return value;
  const meta = optionMeta.get(schema);
  throw new OptionError(meta ? longFlag(meta.flag) : key, meta?.expected ?? expectedOf(r.error.issues[0]), value);
}

/**
 * What a field without CLI metadata expects, in the words OptionMeta.expected uses ('a non-empty
 * string', 'a number >= 0'), from the zod issue's code and bounds: zod's own message ("Too small:
 * expected string to have >=1 characters") would read "expected Too small: expected ...".
 */
function expectedOf(issue: z.core.$ZodIssue): string {
  const kind = (origin: string): string => NOUNS[origin] ?? `a ${origin}`;
  switch (issue.code) {
    case 'invalid_type':
      return kind(issue.expected);
    case 'too_small': {
      const min = Number(issue.minimum);
      const op = issue.inclusive ? '>=' : '>';
      if (issue.origin === 'string') return min <= 1 ? 'a non-empty string' : `a string of at least ${min} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return min <= 1 ? 'a non-empty list' : `a list of at least ${min} items`;
      return `${kind(issue.origin)} ${op} ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      const op = issue.inclusive ? '<=' : '<';
      if (issue.origin === 'string') return `a string of at most ${max} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `a list of at most ${max} items`;
      return `${kind(issue.origin)} ${op} ${max}`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message.replace(/^Invalid input: expected /, '');
  }
}

/** zod's type names as OptionMeta.expected words them. */
const NOUNS: Record<string, string> = {
  string: 'a string', number: 'a number', int: 'an integer', bigint: 'an integer', boolean: 'true or false',
  array: 'a list', set: 'a list', object: 'an object', date: 'a date',
};

/** '--score <0..1>' -> '--score'. */
export function longFlag(flag: string): string {
  return flag.split(' ')[0];
}

function optionName(fieldPath: string, style: NameStyle): string {
  return style.file ? `${fieldPath} in ${style.file}` : fieldPath;
}

/** The object shape at a path of nested objects, if any. */
function shapeAt(schema: z.ZodType, path: readonly string[]): Record<string, z.ZodType> | undefined {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    s = s ? unwrap(childOf(s, key)) : undefined;
  }
  const shape = s ? (s as unknown as { shape?: Record<string, z.ZodType> }).shape : undefined;
  return shape;
}

/** The field schema at a path (as registered, so that its metadata can be found). */
function fieldAt(schema: z.ZodType, path: readonly string[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const key of path) s = s ? childOf(unwrap(s), key) : undefined;
  return s;
}

function childOf(s: z.ZodType | undefined, key: string): z.ZodType | undefined {
  if (!s) return undefined;
  const def = (s as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } }).def;
  if (def.type === 'object') return def.shape?.[key];
  if (def.type === 'array') return def.element;
  return undefined;
}

/** Strips optional / default / pipe wrappers (refine keeps the object's own def in zod 4). */
function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  for (;;) {
    const def = (cur as unknown as { def?: { type: string; innerType?: z.ZodType; in?: z.ZodType } } | undefined)?.def;
    if (!def) return cur;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else return cur;
  }
}
