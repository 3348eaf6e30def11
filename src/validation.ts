import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatIssues, InputError, type Issue } from './errors.js';

// File reading lives in text-file.ts, which the fast `status` start loads without the YAML parser
// or the schema library; re-exported so every existing import keeps working.
export * from './text-file.js';

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

export function zodIssues(error: z.ZodError, schema?: z.ZodType): Issue[] {
  return error.issues.map((i) => ({ path: pathOf(i.path), message: withFix(i, schema) }));
}

/** Validate `value` against `schema`; on failure an InputError names every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string, code: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = zodIssues(r.error, schema);
  throw new InputError(`${what} is not valid:\n${formatIssues(issues)}`, {
    code,
    details: { issues },
    actions: [`Correct the field${issues.length > 1 ? 's' : ''} named above and run the command again.`],
  });
}

/**
 * Parse YAML (a superset of JSON) defensively: duplicate keys are errors, aliases are capped
 * (no billion-laughs), custom tags are not resolved, and nesting is bounded.
 */
export function parseYamlOrJson(text: string, what: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true, customTags: [] });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0];
    throw new InputError(
      `${what} is not valid YAML or JSON${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${first.message.split('\n')[0]}`,
      { code: 'document.syntax', actions: ['Fix the syntax at the position named and run the command again.'] },
    );
  }
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
