import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { optionMeta } from '../config/schema.js';
import { SsdpipeError } from '../errors.js';

// CLI flags made from the option schema (src/config/schema.ts): the flag, its help text, its
// default and its choices come from the schema, so the CLI cannot drift from the API or the
// pipeline-file format. Values are only converted from text here; the API validates them.

/** Maps commander's attribute names back to the API's option names, for one command. */
export type FlagMap = ReadonlyMap<string, { key: string; numeric: boolean }>;

/** Adds one flag per schema field to a command; returns how to read them back (see readFlags). */
export function addSchemaFlags(command: Command, fields: Record<string, z.ZodType>): FlagMap {
  const map = new Map<string, { key: string; numeric: boolean }>();
  for (const [key, schema] of Object.entries(fields)) {
    const meta = optionMeta.get(schema);
    if (!meta) throw new SsdpipeError('E_INTERNAL', `option ${key} has no CLI metadata in src/config/schema.ts`, { hint: 'every option field needs its flag in the schema' });
    const opt = new Option(meta.short ? `${meta.short}, ${meta.flag}` : meta.flag, meta.description);
    const info = describe(schema);
    if (info.choices) opt.choices(info.choices);
    if (info.defaultValue !== undefined && info.defaultValue !== false) opt.default(info.defaultValue);
    command.addOption(opt);
    map.set(opt.attributeName(), { key, numeric: info.numeric });
  }
  return map;
}

/** Commander's parsed values as API options: numbers converted, unset flags left out. */
export function readFlags(values: Record<string, unknown>, flags: FlagMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [attr, { key, numeric }] of flags) {
    const v = values[attr];
    if (v === undefined) continue;
    out[key] = numeric && typeof v === 'string' && NUMBER.test(v) ? Number(v) : v;
  }
  return out;
}

const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

interface FieldInfo {
  numeric: boolean;
  choices?: string[];
  defaultValue?: unknown;
}

/** What a flag needs to know of a field's schema: does it take numbers, its choices, its default. */
function describe(schema: z.ZodType): FieldInfo {
  const info: FieldInfo = { numeric: false };
  const visit = (s: z.ZodType): void => {
    const def = (s as unknown as { def: Record<string, unknown> & { type: string } }).def;
    switch (def.type) {
      case 'default':
        info.defaultValue = typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
        visit(def.innerType as z.ZodType);
        break;
      case 'optional':
      case 'nullable':
        visit(def.innerType as z.ZodType);
        break;
      case 'number':
        info.numeric = true;
        break;
      case 'union':
        for (const o of def.options as z.ZodType[]) visit(o);
        break;
      case 'enum':
        info.choices = Object.values(def.entries as Record<string, string>);
        break;
      default:
        break;
    }
  };
  visit(schema);
  return info;
}
