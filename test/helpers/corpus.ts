import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** test/corpus: the hostile inputs, most committed as they are. */
export const CORPUS = resolve(import.meta.dirname, '..', 'corpus');

/**
 * Inputs too large to keep in the repository are made when first asked for, byte for byte the
 * same every time, in the run's temporary folder: a valid manifest padded past 2 MiB with comment
 * lines, and JSON nested 100,000 levels deep.
 */
const GENERATED: Record<string, () => string> = {
  'manifests/size-2mib.yaml': () => readFileSync(join(CORPUS, 'manifests', 'size-2mib.head.yaml'), 'utf8') + `# ${'x'.repeat(78)}\n`.repeat(25_891),
  'manifests/deep-100k.json': () => `{"purpose": ${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`,
};

/** The path of a corpus file, generating it first if it is one of the generated ones. */
export function corpusFile(rel: string): string {
  const make = GENERATED[rel];
  if (make === undefined) return join(CORPUS, rel);
  const path = join(tmpdir(), 'detailee-corpus', rel);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, make());
  }
  return path;
}
