import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from './errors.js';

/** Files detailee reads as documents are small; anything larger is a mistake or an attack. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

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

function decodeText(bytes: Uint8Array, what: string): string {
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

