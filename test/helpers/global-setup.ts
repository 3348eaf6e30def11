import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One temporary root per test run, removed at the end whatever happened. Every folder a test, a
 * helper or a CLI it starts makes through os.tmpdir() lands inside it, because $TMPDIR points
 * there for the workers and everything they spawn. At the end, any process still running with
 * that root in its environment or its command line (a slapd, moto or PostgreSQL a failed or
 * timed-out test did not stop, a hung CLI) is killed before the folder is removed.
 */
export default function setup(): () => void {
  const outer = tmpdir();
  sweepAbandoned(outer);
  const root = mkdtempSync(join(outer, 'detailee-test-run-'));
  // Which run owns the root: a run killed before its teardown is swept by the next one.
  writeFileSync(join(root, 'owner.pid'), String(process.pid));
  // PostgreSQL runs as its own user when the tests run as root: it must be able to enter the root.
  chmodSync(root, 0o755);
  process.env.DETAILEE_TEST_ROOT = root;
  process.env.TMPDIR = root;
  // Nothing a test runs reads or writes the user's own config, data or cache folders.
  process.env.XDG_CONFIG_HOME = join(root, 'xdg-config');
  process.env.XDG_DATA_HOME = join(root, 'xdg-data');
  process.env.XDG_CACHE_HOME = join(root, 'xdg-cache');
  const teardown = () => {
    killLeftovers(root);
    rmSync(root, { recursive: true, force: true });
    process.env.TMPDIR = outer;
  };
  // Interrupted (Ctrl-C, a CI timeout's SIGTERM): the teardown still runs.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      teardown();
      process.exit(code);
    });
  }
  return teardown;
}

/** Roots of earlier runs whose process is gone (killed with SIGKILL, say): their leftovers, then the root. */
function sweepAbandoned(outer: string): void {
  for (const name of readdirSync(outer)) {
    if (!name.startsWith('detailee-test-run-')) continue;
    const root = join(outer, name);
    const ownerFile = join(root, 'owner.pid');
    if (!existsSync(ownerFile)) continue; // not made by this setup, or still being created
    const owner = Number(readFileSync(ownerFile, 'utf8'));
    if (Number.isInteger(owner) && owner > 0 && existsSync(`/proc/${owner}`)) continue;
    killLeftovers(root);
    rmSync(root, { recursive: true, force: true });
  }
}

/** Processes started under this run's root; not this process nor its ancestors. */
export function leftovers(root: string): number[] {
  const spare = new Set<number>();
  for (let pid = process.pid; pid > 1; ) {
    spare.add(pid);
    try {
      pid = Number(/^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? 0);
    } catch {
      break;
    }
  }
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (spare.has(pid)) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (env.includes(`DETAILEE_TEST_ROOT=${root}\0`) || cmd.includes(root)) found.push(pid);
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}

function killLeftovers(root: string): void {
  for (const pid of leftovers(root)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
