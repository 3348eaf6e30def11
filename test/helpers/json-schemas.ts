import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * Checks a command's `--json` output against its schema in schemas/: the CLI tests run every
 * output they see through this, so the schemas are checked against real outputs, not examples.
 */
const dir = join(import.meta.dirname, '..', '..', 'schemas');
let validators: Map<string, ValidateFunction> | undefined;

function load(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const ajv = new Ajv({ allErrors: true, strict: false });
  validators = new Map();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.schema.json'))) {
    validators.set(f.slice(0, -'.schema.json'.length), ajv.compile(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object));
  }
  return validators;
}

/** The schema name for a command line: `fti list ID` → `fti-list`; undefined when none applies. */
export function schemaNameFor(args: readonly string[]): string | undefined {
  const v = load();
  const words = args.filter((a) => !a.startsWith('-'));
  for (const n of [2, 1]) {
    const name = words.slice(0, n).join('-');
    if (words.length >= n && v.has(name) && name !== 'error') return name;
  }
  return undefined;
}

const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;
/**
 * The last two keys of a term boundary's path. A certificate's accessEnded.at is the end of term
 * when the term ran out (the signed record says so in the host's offset, as the term does).
 */
const TERM_BOUNDARY = /(^|\/)(startsAt|endsAt|newEndsAt|previousEndsAt)$|^accessEnded\/at$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Every value that starts like a date must be a date (YYYY-MM-DD) or an instant (RFC 3339 with an
 * explicit offset) that reads back as a real date: the one format for each (docs/json.md).
 */
function timeFormatProblems(json: unknown, path = ''): string[] {
  if (typeof json === 'string') {
    if (!/^\d{4}-\d{2}-\d{2}/.test(json)) return [];
    const ok = (FULL_DATE.test(json) && !Number.isNaN(Date.parse(`${json}T00:00:00Z`))) || (INSTANT.test(json) && !Number.isNaN(Date.parse(json)));
    if (!ok) return [`${path || '(root)'}: "${json}" is neither a date (YYYY-MM-DD) nor an instant (RFC 3339 with Z or ±hh:mm)`];
    // Times at which something happened are UTC; only the term's boundaries keep the host's offset.
    const key = path.split('/').slice(-2).join('/');
    if (INSTANT.test(json) && !json.endsWith('Z') && !TERM_BOUNDARY.test(key)) return [`${path}: "${json}" is an instant with a local offset; only a term boundary (${TERM_BOUNDARY.source}) keeps one, every other instant is UTC (Z)`];
    return [];
  }
  if (Array.isArray(json)) return json.flatMap((v, i) => timeFormatProblems(v, `${path}/${i}`));
  if (json && typeof json === 'object') return Object.entries(json).flatMap(([k, v]) => timeFormatProblems(v, `${path}/${k}`));
  return [];
}

/** Problems of `json` against the schema that applies, or [] (also when no schema applies). */
export function jsonOutputProblems(args: readonly string[], json: unknown): string[] {
  if (!args.includes('--json') || args.includes('--help') || args.includes('-h')) return [];
  if (json === null || typeof json !== 'object') return [];
  const isError = !Array.isArray(json) && 'error' in json;
  const name = isError ? 'error' : schemaNameFor(args);
  if (name === undefined) return [];
  const validate = load().get(name)!;
  const times = timeFormatProblems(json);
  if (validate(json)) return times;
  return [...times, ...(validate.errors ?? []).map((e) => `${name}.schema.json: ${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)];
}
