// Bundles the fast `status` start (src/cli/fast-status.ts, after tsc) into dist/fast/: one file
// for the common path, and split chunks (the YAML parser and the schema library, the PostgreSQL
// store) loaded only when needed. Module resolution across a few hundred files was most of the
// start-up time; one bundle with the compile cache loads in a few milliseconds.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'fast');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { status: 'dist/src/cli/fast-status.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  chunkNames: 'chunks/[name]-[hash]',
  // The PostgreSQL driver stays a package of its own: the fast start hands such stores to the
  // full command, so it is never loaded from here in practice.
  external: ['pg', 'pgpass', 'pg-connection-string'],
  // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __detaileeRequire } from 'node:module'; const require = __detaileeRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
