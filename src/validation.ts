import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { formatIssues, InputError, type Issue } from './errors.js';

/** Files detailee reads as documents are small; anything larger is a mistake or an attack. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

export function zodIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({ path: pathOf(i.path), message: i.message }));
}

/** Validate `value` against `schema`; on failure an InputError names every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string, code: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = zodIssues(r.error);
  throw new InputError(`${what} is not valid:\n${formatIssues(issues)}`, {
    code,
    details: { issues },
    actions: [`Correct the field${issues.length > 1 ? 's' : ''} named above and run the command again.`],
  });
}

/** Read a file's bytes, refusing anything that is not a regular file of at most MAX_DOCUMENT_BYTES. */
export function readBoundedFile(path: string, what: string, limit = MAX_DOCUMENT_BYTES): Buffer {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new InputError(`Cannot read ${what} ${JSON.stringify(path)}: ${(e as Error).message}`, {
      code: 'file.unreadable',
      actions: ['Check the path and that the file exists and is readable.'],
      cause: e,
    });
  }
  if (size > limit) {
    throw new InputError(`${what} ${JSON.stringify(path)} is ${size} bytes; the limit is ${limit}.`, {
      code: 'file.too-large',
      actions: ['Pass the right file; documents detailee reads are small.'],
    });
  }
  return readFileSync(path);
}

/**
 * Refuse an output path that cannot become a file (an existing directory, or a folder that is not
 * there) as bad input, before anything is read or written, rather than as an internal error later.
 */
export function checkOutputPath(path: string, what: string): void {
  let problem: string | undefined;
  try {
    if (statSync(path).isDirectory()) problem = 'it is a directory';
  } catch {
    try {
      if (!statSync(dirname(resolve(path))).isDirectory()) problem = 'its folder is not a directory';
    } catch {
      problem = 'its folder does not exist';
    }
  }
  if (problem) {
    throw new InputError(`Cannot write ${what} to ${JSON.stringify(path)}: ${problem}.`, {
      code: 'file.output',
      actions: ['Pass a file path inside an existing folder.'],
    });
  }
}

/** Read a file as strict UTF-8 text, refusing oversize, binary and non-UTF-8 content. */
export function readTextFile(path: string, what: string): { text: string; bytes: Buffer } {
  const bytes = readBoundedFile(path, what);
  return { text: decodeText(bytes, `${what} ${JSON.stringify(path)}`), bytes };
}

export function decodeText(bytes: Uint8Array, what: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${what} is not valid UTF-8 text.`, {
      code: 'file.encoding',
      actions: ['Save the file as UTF-8.'],
    });
  }
  if (text.includes('\u0000')) {
    throw new InputError(`${what} contains a NUL byte.`, {
      code: 'file.binary',
      actions: ['Pass a text file (YAML or JSON).'],
    });
  }
  return text;
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
