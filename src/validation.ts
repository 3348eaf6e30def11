import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { formatIssues, InputError, type Issue } from './errors.js';

// File reading lives in text-file.ts, which the fast `status` start loads without the YAML parser
// or the schema library; re-exported so every existing import keeps working.

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** The keys a strict object in `schema` allows at `path` (through optional, default and array wrappers). */
function keysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  type Def = { type?: string; innerType?: unknown; element?: unknown; shape?: Record<string, unknown>; in?: unknown };
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (n as { _zod?: { def?: Def } })._zod?.def;
      if (!def) return n;
      if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') n = def.innerType;
      else if (def.type === 'pipe') n = def.in;
      else return n;
    }
    return n;
  };
  for (const p of path) {
    const def = (unwrap(node) as { _zod?: { def?: Def } })._zod?.def;
    if (def?.type === 'array' && typeof p === 'number') node = def.element;
    else if (def?.type === 'object' && typeof p === 'string' && def.shape) node = def.shape[p];
    else return [];
  }
  const def = (unwrap(node) as { _zod?: { def?: Def } })._zod?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

const WRITE_AS: Record<string, string> = {
  array: 'write it as a list, e.g. [a, b] or one "- item" per line',
  object: 'write it as a mapping of "key: value" lines',
  number: 'write a number without quotes',
  string: 'write it as text',
  boolean: 'write true or false',
};

/**
 * Zod's own wording says what is wrong but not what to write instead; the messages the schemas
 * set themselves already do. This adds the fix for zod's built-in checks.
 */
function withFix(issue: z.core.$ZodIssue, schema: z.ZodType | undefined): string {
  const m = issue.message;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = schema ? keysAt(schema, issue.path) : [];
      const hints = issue.keys.map((k) => {
        const near = known.map((c) => [c, editDistance(k.toLowerCase(), c.toLowerCase())] as const).sort((x, y) => x[1] - y[1])[0];
        return near && near[1] <= Math.max(2, Math.floor(k.length / 3)) ? `did you mean "${near[0]}" for "${k}"?` : undefined;
      });
      const named = hints.filter((h) => h !== undefined);
      return `${m}; ${named.length ? named.join(' ') : 'remove it'}${known.length ? ` (allowed here: ${known.join(', ')})` : ''}`;
    }
    case 'invalid_type':
      return WRITE_AS[issue.expected] && !/must|is required/.test(m) ? `${m}; ${WRITE_AS[issue.expected]}` : m;
    case 'too_big':
      return /^Too big/.test(m) ? `${m}; use ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}` : m;
    case 'too_small':
      return /^Too small/.test(m) ? `${m}; use ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}` : m;
    default:
      return m;
  }
}

function zodIssues(error: z.ZodError, schema?: z.ZodType): Issue[] {
  return error.issues.map((i) => ({ path: pathOf(i.path), message: withFix(i, schema) }));
}

/** Validate `value` against `schema`; on failure an InputError names every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string, code: string, extraIssues: Issue[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success && extraIssues.length === 0) return r.data as z.output<S>;
  const issues = [...extraIssues, ...(r.success ? [] : zodIssues(r.error, schema))];
  throw new InputError(`${what} is not valid:\n${formatIssues(issues)}`, {
    code,
    details: { issues },
    actions: [`Correct the field${issues.length > 1 ? 's' : ''} named above and run the command again.`],
  });
}

function syntaxError(what: string, message: string, code: string, action: string, pos?: { line: number; col: number }): InputError {
  return new InputError(`${what} is not valid YAML or JSON${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}: ${message}`, { code, actions: [action] });
}

/**
 * Parse YAML (a superset of JSON) defensively, as YAML 1.2 with the core schema only: duplicate
 * keys are errors, aliases are capped (no billion-laughs), nesting is bounded, and nothing of YAML
 * 1.1 comes back in. A `%YAML 1.1` directive would turn on merge keys, sexagesimal numbers
 * (`1:30` is 90) and timestamps that truncate to dates, so the directive itself is refused, as
 * are merge keys, explicit tags (`!!timestamp`, `!!binary`, `!custom`) and keys that are not text.
 */
export function parseYamlOrJson(text: string, what: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    uniqueKeys: true,
    prettyErrors: true,
    strict: true,
    customTags: [],
    version: '1.2',
    schema: 'core',
    merge: false,
    resolveKnownTags: false,
    lineCounter,
  });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw syntaxError(what, first.message.split('\n')[0]!, 'document.syntax', 'Fix the syntax at the position named and run the command again.', first.linePos?.[0]);
  }
  const declared = doc.directives?.yaml;
  if (declared?.explicit && declared.version !== '1.2') {
    throw syntaxError(what, `it declares %YAML ${declared.version}, and only YAML 1.2 (core schema) is read`, 'document.yaml-version', 'Remove the %YAML directive (or write %YAML 1.2).');
  }
  const warning = doc.warnings[0];
  if (warning) {
    throw syntaxError(what, `${warning.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}; explicit tags are not read`, 'document.tag', 'Remove the tag and write the plain value.', warning.linePos?.[0]);
  }
  let refusal: InputError | undefined;
  visit(doc, {
    Pair(_, pair) {
      const at = (node: unknown) => {
        const range = (node as { range?: [number, number, number] } | null)?.range;
        return range ? lineCounter.linePos(range[0]) : undefined;
      };
      if (!isScalar(pair.key)) {
        refusal = syntaxError(what, 'a mapping key must be plain text, not a list or mapping', 'document.key', 'Write the key as plain text.', at(pair.key ?? pair.value));
        return visit.BREAK;
      }
      if (pair.key.value === '<<' && pair.key.type === 'PLAIN') {
        refusal = syntaxError(what, 'merge keys (<<) are not YAML 1.2 and are not read', 'document.merge-key', 'Write the merged keys out in full instead of "<<: *anchor".', at(pair.key));
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (refusal) throw refusal;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    throw new InputError(`${what} could not be read: ${(e as Error).message}`, {
      code: 'document.aliases',
      actions: ['Remove YAML anchors and aliases; write the values out.'],
    });
  }
  if (depth(value, 0) > 32) {
    throw new InputError(`${what} is nested more than 32 levels deep.`, {
      code: 'document.depth',
      actions: ['Pass a document of the documented shape.'],
    });
  }
  return value;
}

function depth(v: unknown, d: number): number {
  if (d > 32) return d;
  if (Array.isArray(v)) return v.reduce<number>((m, x) => Math.max(m, depth(x, d + 1)), d + 1);
  if (v !== null && typeof v === 'object') {
    return Object.values(v).reduce<number>((m, x) => Math.max(m, depth(x, d + 1)), d + 1);
  }
  return d;
}

/**
 * Characters that may not appear in any text of a manifest: C0 controls (NUL, CR, LF, ESC…), DEL,
 * C1 controls, and the invisible bidirectional controls that make text display other than it
 * reads (U+202E shows "gpj.exe" as "exe.jpg"), plus the line and paragraph separators. Text from a
 * manifest reaches LDAP attributes, IAM tags, notices and signed certificates; none of them should
 * receive a line break or a direction change that its reader cannot see.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CHAR = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/u;

function describeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const named: Record<number, string> = { 0: 'NUL', 9: 'tab', 10: 'line feed', 13: 'carriage return', 27: 'escape', 0x7f: 'DEL', 0x85: 'next line', 0x202e: 'right-to-left override', 0x202d: 'left-to-right override', 0xfeff: 'byte order mark', 0x2028: 'line separator', 0x2029: 'paragraph separator' };
  const kind = cp < 0x20 ? 'C0 control' : cp === 0x7f ? 'control' : cp <= 0x9f ? 'C1 control' : cp === 0xfeff || cp === 0x2028 || cp === 0x2029 ? 'invisible format character' : 'bidirectional control';
  return `${hex}${named[cp] ? ` ${named[cp]}` : ''} (${kind})`;
}

/** One issue per text value (at any depth) holding a forbidden character, named by its field. */
export function controlCharIssues(value: unknown, path: ReadonlyArray<PropertyKey> = []): Issue[] {
  if (typeof value === 'string') {
    const m = FORBIDDEN_CHAR.exec(value);
    if (!m) return [];
    return [
      {
        path: pathOf(path),
        message: `contains the ${describeChar(m[0])} at character ${m.index + 1}; control, bidirectional and line-break characters are not allowed in manifest text: write it on one line of plain text (YAML ">-" folds a long value without a line break)`,
      },
    ];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => controlCharIssues(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const keyIssue = FORBIDDEN_CHAR.test(k) ? [{ path: pathOf([...path, k]), message: 'the key itself contains a control or bidirectional character' }] : [];
      return [...keyIssue, ...controlCharIssues(v, [...path, k])];
    });
  }
  return [];
}
