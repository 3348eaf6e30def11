import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder holding package.json. The same walk works from src/ under vitest, from dist/ after a
 * build, and from an installed package, so templates are found without configuration. Found once
 * per process: the PDF renderer asks for a font path on every table row.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const from = fileURLToPath(import.meta.url);
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${from}`);
    dir = parent;
  }
}
