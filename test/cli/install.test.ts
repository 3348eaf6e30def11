import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';

/**
 * Installing as a user would: `npm pack`, then `npm install -g` of the tarball into a prefix of
 * the test's own, then the `detailee` that put on the PATH. Slow (the registry is asked for the
 * dependencies): one such test.
 */
const NPM = 'npm';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Everything except the HOME and config the user would have: the npm cache stays, to spare the registry. */
function userEnv(home: string, path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DETAILEE_') && !k.startsWith('XDG_') && !k.startsWith('npm_')) env[k] = v;
  return { ...env, HOME: home, PATH: path, npm_config_cache: join(process.env.HOME ?? '/root', '.npm') };
}

/**
 * The package as `npm pack` makes it, from the current build: prepack (npm run build, oclif
 * manifest) is replayed in a copy, so that a rebuild here cannot change the dist/ that other test
 * files are running at the same moment.
 */
function pack(into: string): string {
  const copy = join(into, 'package');
  mkdirSync(copy);
  for (const f of ['package.json', 'README.md', 'bin', 'dist', 'templates', 'docs', 'schemas']) cpSync(join(ROOT, f), join(copy, f), { recursive: true, filter: (p) => !p.endsWith('.tar.gz') });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest'], { cwd: copy, stdio: 'pipe' });
  const out = execFileSync(NPM, ['pack', '--ignore-scripts', '--silent', '--pack-destination', into], { cwd: copy, encoding: 'utf8' });
  return join(into, out.trim().split('\n').pop()!);
}

/** The machine's own Node, when it is older than detailee needs (Debian's, here). */
const OLD = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p) && Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' })) < 22);

describe('npm pack + npm install -g', () => {
  let prefix: string;
  let tarball: string;
  let home: string;
  let installed: string;
  beforeAll(() => {
    const work = tempDir('detailee-pack-');
    home = tempDir('detailee-home-');
    prefix = join(work, 'prefix');
    tarball = pack(work);
    const env = userEnv(home, `${dirname(process.execPath)}${delimiter}/usr/bin${delimiter}/bin`);
    execFileSync(NPM, ['install', '-g', '--prefix', prefix, '--no-fund', '--no-audit', '--loglevel=error', tarball], { env, stdio: 'pipe', timeout: 280_000 });
    installed = join(prefix, 'lib', 'node_modules', 'detailee');
  }, 300_000);

  it('the package holds what runs and no more; prepack builds it', () => {
    expect(pkg.scripts.prepack).toMatch(/npm run build && oclif manifest/);
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['bin/run.js', 'bin/start.js', 'bin/node-check.js', 'oclif.manifest.json', 'docs/rules.md', 'README.md', 'dist/fast/fast.js', 'schemas/error.schema.json', 'schemas/status.schema.json', 'docs/errors.md', 'docs/json.md']));
    expect(files.filter((f) => /^(test|src|scripts|bench|\.ci)\/|\.ts$|^bin\/dev|^dist\/(test|scripts)\/|\.tar\.gz$/.test(f))).toEqual([]);
  });

  it('puts a working detailee on the PATH, with no development dependency installed', () => {
    const path = `${join(prefix, 'bin')}${delimiter}${dirname(process.execPath)}${delimiter}/usr/bin${delimiter}/bin`;
    const v = spawnSync('detailee', ['--version'], { env: userEnv(home, path), encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`^detailee/${pkg.version.replace(/\./g, '\\.')} linux-x64 node-v\\d+`));
    // Not configured yet: refused, pointing at init, and nothing written to $HOME.
    const cwd = tempDir('detailee-cwd-');
    const st = spawnSync('detailee', ['status'], { cwd, env: userEnv(home, path), encoding: 'utf8' });
    expect(st.status).toBe(2);
    expect(st.stderr).toMatch(/detailee init/);
    const init = spawnSync('detailee', ['init', '--json'], { cwd, env: userEnv(home, path), encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    expect(spawnSync('detailee', ['status'], { cwd, env: userEnv(home, path), encoding: 'utf8' }).stdout).toBe('No assignments recorded.\n');
    const deps = readdirSync(join(installed, 'node_modules'));
    expect(deps).toEqual(expect.arrayContaining(['@oclif', 'yaml']));
    expect(Object.keys(pkg.devDependencies).filter((d) => existsSync(join(installed, 'node_modules', d)))).toEqual([]);
  });

  it.skipIf(OLD === undefined)('on an older Node first on the PATH, the installed command says which Node it needs and exits 2', () => {
    const old = OLD!;
    const version = execFileSync(old, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const path = `${join(prefix, 'bin')}${delimiter}${dirname(old)}${delimiter}/bin`;
    const r = spawnSync('detailee', ['status'], { env: userEnv(home, path), encoding: 'utf8' });
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `detailee needs Node.js >= 22.22.0; this is Node.js ${version}.\n`]);
  });
});

/**
 * The standalone tarball carries its own Node. Building it takes minutes and rebuilds dist/, so
 * it runs only when asked: DETAILEE_TEST_STANDALONE=1 npx vitest run test/cli/install.test.ts
 */
describe.runIf(process.env.DETAILEE_TEST_STANDALONE === '1')('scripts/pack-standalone.sh', () => {
  it('builds a tarball that runs where only an older Node is installed', () => {
    execFileSync('bash', [join(ROOT, 'scripts', 'pack-standalone.sh')], { cwd: ROOT, stdio: 'pipe', timeout: 900_000 });
    const tgz = readdirSync(join(ROOT, 'dist')).find((f) => /^detailee-v.*-linux-x64\.tar\.gz$/.test(f))!;
    const where = tempDir('detailee-standalone-');
    const home = tempDir('detailee-home-');
    execFileSync('tar', ['xzf', join(ROOT, 'dist', tgz), '-C', where]);
    const env = { HOME: home, PATH: `/usr/bin${delimiter}/bin` };
    const v = spawnSync(join(where, 'detailee', 'bin', 'detailee'), ['--version'], { env, encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^detailee\/\S+ linux-x64 node-v(2[3-9]|22\.(2[2-9]|[3-9]\d))/);
    const st = spawnSync(join(where, 'detailee', 'bin', 'detailee'), ['status'], { cwd: home, env, encoding: 'utf8' });
    expect(st.status).toBe(2);
    expect(st.stderr).toMatch(/detailee init/);
  }, 900_000);
});
