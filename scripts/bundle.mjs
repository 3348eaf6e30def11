// Bundles the fast start (src/cli/fast.ts: `status` and `--version`, after tsc) into dist/fast/: one file
// for the common path, with oclif's flag builders and parser (the command's own flag definitions are
// parsed there), and split chunks (the YAML parser and the schema library, the PostgreSQL store)
// loaded only when needed. Module resolution across a few hundred files was most of the
// start-up time; one bundle with the compile cache loads in a few milliseconds.
// Then the PDF libraries of the destruction certificate into dist/vendor/pdf.js, for the same
// reason: pdfkit, fontkit and their dependencies are a few dozen packages that every certificate
// otherwise resolves and compiles one by one (pdf-libraries.ts loads the bundle when it is there).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Node's built-ins through process.getBuiltinModule instead of ES imports. An ES import of a
 * built-in builds a facade of every export, and node:fs's getters then load the whole streams
 * stack (about 10 ms at each start) for a command that never opens a stream. Only plain values
 * are re-exported: importing a getter-backed name (fs.promises, fs.ReadStream) fails the build
 * rather than misbehaving at run time.
 *
 * With `lazyRequire`, a require() of a built-in (CommonJS packages: oclif's parser and what it
 * uses) gets an object that loads the built-in at its first use. oclif's parser requires
 * node:readline for reading a flag from stdin, its file flags node:fs/promises, and so on, all at
 * load: 10-15 ms of built-ins at each start for code the fast start never runs. A built-in that is
 * itself a function or class (node:events, node:assert) is required as it is.
 */
function builtins({ lazyRequire = false } = {}) {
  return {
    name: 'builtins-without-facade',
    setup(b) {
      const names = new Set(builtinModules);
      b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
        const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
        // node:sqlite, node:test and node:sea are listed only with their prefix.
        if (!names.has(id) && !names.has(id.slice('node:'.length))) return undefined;
        const lazy = lazyRequire && args.kind === 'require-call' && typeof process.getBuiltinModule(id) === 'object';
        return { path: id, namespace: lazy ? 'builtin-lazy' : 'builtin' };
      });
      b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
        const mod = process.getBuiltinModule(args.path);
        const plain = Object.entries(Object.getOwnPropertyDescriptors(mod))
          .filter(([k, d]) => 'value' in d && k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k))
          .map(([k]) => `export const ${k} = m.${k};`);
        return { contents: `const m = process.getBuiltinModule(${JSON.stringify(args.path)});\nexport default m;\n${plain.join('\n')}\n`, loader: 'js' };
      });
      b.onLoad({ filter: /.*/, namespace: 'builtin-lazy' }, (args) => ({
        contents: [
          'let m;',
          `const load = () => (m ??= process.getBuiltinModule(${JSON.stringify(args.path)}));`,
          'module.exports = new Proxy({}, {',
          '  get: (_, k) => load()[k],',
          '  has: (_, k) => k in load(),',
          '  ownKeys: () => Reflect.ownKeys(load()),',
          '  getOwnPropertyDescriptor: (_, k) => {',
          '    const d = Reflect.getOwnPropertyDescriptor(load(), k);',
          '    return d && { ...d, configurable: true };',
          '  },',
          '});',
          '',
        ].join('\n'),
        loader: 'js',
      }));
    },
  };
}

/**
 * oclif's help, in the fast start only: its help module and the ux module that renders flag help.
 * oclif's flag builders (flags.js), its error handler (errors/handle.js) and its parser's help
 * (parser/help.js) import them for --help and --version flags, for printing an error with help and
 * for flag usage, none of which the fast start runs; the real modules would bring the help
 * renderer, spinners, oclif's module loader and through that the TypeScript compiler (10 MB) into
 * the bundle. Anything read from them throws, and the fast start hands the command to oclif.
 */
const oclifHelpStub = {
  name: 'oclif-help-stub',
  setup(b) {
    b.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/](help|ux)[\\/]index\.js$/ }, (args) => {
      const what = JSON.stringify(`oclif's ${/(help|ux)[\\/]index\.js$/.exec(args.path)[1]} module is not in the fast start bundle (scripts/bundle.mjs): `);
      return {
        contents: [
          'module.exports = new Proxy({}, {',
          '  get(_, name) {',
          "    if (name === '__esModule') return true;",
          `    throw new Error(${what} + String(name));`,
          '  },',
          '});',
          '',
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

/**
 * fontkit needs brotli only to open WOFF2 fonts, and importing it builds its 756 KB dictionary.
 * The certificate embeds TrueType fonts only, so a WOFF2 font reaching the bundle is a mistake
 * that should say so rather than load the decoder.
 */
const noBrotli = {
  name: 'no-brotli',
  setup(b) {
    b.onResolve({ filter: /^brotli(\/.*)?$/ }, (args) => ({ path: args.path, namespace: 'no-brotli' }));
    b.onLoad({ filter: /.*/, namespace: 'no-brotli' }, () => ({
      contents:
        "export default function decompress() {\n  throw new Error('WOFF2 fonts are not supported by the bundled PDF libraries (brotli is left out of dist/vendor/pdf.js); use a TrueType font');\n}\n",
      loader: 'js',
    }));
  },
};

/**
 * pdfkit loads the data of its standard fonts (Helvetica, its default) through a require() made
 * with createRequire(import.meta.url) from its package's own `#standard-fonts/...` imports, which
 * esbuild cannot follow and which would resolve against detailee's package.json at run time. As a
 * plain require() of the package's public subpaths, esbuild bundles each font's data and still
 * evaluates it only when that font is first used.
 */
const pdfkitStandardFonts = {
  name: 'pdfkit-standard-fonts',
  setup(b) {
    b.onLoad({ filter: /[\\/]pdfkit[\\/]js[\\/]pdfkit\.node\.mjs$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      let n = 0;
      const contents = source.replace(/\brequire\$1\('#standard-fonts\/(\w+)'\)/g, (_, font) => {
        n++;
        return `require('pdfkit/standard-fonts/${font}')`;
      });
      if (n !== 14) throw new Error(`pdfkit's standard font loaders have changed: found ${n} of 14; see scripts/bundle.mjs`);
      return { contents, loader: 'js' };
    });
  },
};

/**
 * The Unicode tables of line breaking and of glyph shaping (linebreak, unicode-properties) are
 * deflated, and tiny-inflate unpacks both as the bundle loads, in JavaScript (about 11 ms of a
 * certificate's cold start). Node's zlib inflates the same raw DEFLATE streams natively; the shim
 * keeps tiny-inflate's contract (fills `dest`, returns it, or the filled part when shorter).
 */
const nativeInflate = {
  name: 'native-inflate',
  setup(b) {
    b.onResolve({ filter: /^tiny-inflate$/ }, () => ({ path: join(root, 'scripts', 'tiny-inflate-native.cjs') }));
  },
};

/**
 * pdfkit imports AES only to encrypt a document, which the certificate never is, and the module
 * builds its lookup tables as it loads. The bundle evaluates it on the first encryption instead.
 */
const lazyAes = {
  name: 'lazy-aes',
  setup(b) {
    b.onResolve({ filter: /^@noble\/ciphers\/aes(\.js)?$/ }, (args) =>
      /[\\/]pdfkit[\\/]js[\\/]pdfkit\.node\.mjs$/.test(args.importer) ? { path: args.path, namespace: 'lazy-aes', pluginData: dirname(args.importer) } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-aes' }, (args) => ({
      contents: `let aes;\nconst load = () => (aes ??= require(${JSON.stringify(args.path)}));\nexport const cbc = (...a) => load().cbc(...a);\nexport const ecb = (...a) => load().ecb(...a);\n`,
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What both bundles share: one ES module for Node 22+ with the built-ins taken without facades. */
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __detaileeRequire } from 'node:module'; const require = __detaileeRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
};

const outdir = join(root, 'dist', 'fast');
rmSync(outdir, { recursive: true, force: true });
const fast = await build({
  ...common,
  entryPoints: { fast: 'dist/src/cli/fast.js' },
  outdir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // The PostgreSQL driver stays a package of its own (loaded from node_modules for a shared store
  // only), so an update of pg needs no rebuild of the bundle.
  external: ['pg', 'pgpass', 'pg-connection-string'],
  plugins: [builtins({ lazyRequire: true }), oclifHelpStub],
  metafile: true,
});
// A stub that no longer matches (oclif moved a module) would bring it all back silently.
const heavy = Object.keys(fast.metafile.inputs).filter((f) =>
  /[\\/](typescript|ejs|cli-spinners)[\\/]|@oclif[\\/]core[\\/]lib[\\/](help[\\/](?!index\.js$)|ux[\\/]action[\\/]|config[\\/]|module-loader)/.test(f),
);
if (heavy.length > 0) throw new Error(`the fast start bundles oclif's help, config loader or spinners: ${heavy.join(', ')}; see oclifHelpStub in scripts/bundle.mjs`);

// What render-pdf.ts uses, and no more: qrcode's encoder without its PNG, SVG and terminal renderers.
const vendordir = join(root, 'dist', 'vendor');
rmSync(vendordir, { recursive: true, force: true });
await build({
  ...common,
  stdin: {
    contents: "export { default as PDFDocument } from 'pdfkit';\nexport { create as createQr } from 'qrcode/lib/core/qrcode.js';\n",
    resolveDir: root,
    sourcefile: 'vendor-pdf.js',
    loader: 'js',
  },
  outfile: join(vendordir, 'pdf.js'),
  plugins: [builtins(), noBrotli, pdfkitStandardFonts, nativeInflate, lazyAes],
});
// pdfkit reads its ICC profile next to itself (new URL('./data/...', import.meta.url)) for PDF/A.
mkdirSync(join(vendordir, 'data'));
copyFileSync(join(root, 'node_modules', 'pdfkit', 'js', 'data', 'sRGB_IEC61966_2_1.icc'), join(vendordir, 'data', 'sRGB_IEC61966_2_1.icc'));
