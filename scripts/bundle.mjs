// Bundles the fast start (src/cli/fast.ts: `status` and `--version`, after tsc) into dist/fast/: one file
// for the common path, and split chunks (the YAML parser and the schema library, the PostgreSQL
// store) loaded only when needed. Module resolution across a few hundred files was most of the
// start-up time; one bundle with the compile cache loads in a few milliseconds.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Node's built-ins through process.getBuiltinModule instead of ES imports. An ES import of a
 * built-in builds a facade of every export, and node:fs's getters then load the whole streams
 * stack (about 10 ms at each start) for a command that never opens a stream. Only plain values
 * are re-exported: importing a getter-backed name (fs.promises, fs.ReadStream) fails the build
 * rather than misbehaving at run time.
 */
const builtins = {
  name: 'builtins-without-facade',
  setup(b) {
    const names = new Set(builtinModules);
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      return names.has(args.path.replace(/^node:/, '')) || names.has(args.path) ? { path: id, namespace: 'builtin' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const mod = process.getBuiltinModule(args.path);
      const plain = Object.entries(Object.getOwnPropertyDescriptors(mod))
        .filter(([k, d]) => 'value' in d && k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k))
        .map(([k]) => `export const ${k} = m.${k};`);
      return { contents: `const m = process.getBuiltinModule(${JSON.stringify(args.path)});\nexport default m;\n${plain.join('\n')}\n`, loader: 'js' };
    });
  },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'fast');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { fast: 'dist/src/cli/fast.js' },
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
  plugins: [builtins],
  legalComments: 'none',
  logLevel: 'warning',
});
