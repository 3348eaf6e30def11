import { existsSync, readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/**
 * `detailee --version` as oclif prints it (its config.userAgent), without loading oclif. On WSL
 * oclif says "wsl" instead of the platform; anything that looks like WSL is left to it.
 */
export function versionLine(pkg: { name: string; version: string }): string | undefined {
  const p = platform();
  if (p !== 'linux' && p !== 'darwin') return undefined;
  if (p === 'linux') {
    if (release().toLowerCase().includes('microsoft')) return undefined;
    try {
      if (readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')) return undefined;
    } catch {
      /* no /proc: not WSL */
    }
    if (existsSync('/proc/sys/fs/binfmt_misc/WSLInterop') || existsSync('/run/WSL')) return undefined;
  }
  return `${pkg.name}/${pkg.version} ${p}-${arch() === 'ia32' ? 'x86' : arch()} node-${process.version}`;
}

interface PackageJson {
  name: string;
  version: string;
  oclif?: { additionalHelpFlags?: string[] };
}

/** The bundle's entry (bin/start.js): true when the command was answered here. */
export async function runFast(argv: readonly string[]): Promise<boolean> {
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return false;
  }
  if (argv[0] === 'status') {
    // Loaded for status only: `--version` needs neither oclif's parser nor the store.
    const { runFastStatus } = await import('./fast-status.js');
    return runFastStatus(argv, pkg.oclif?.additionalHelpFlags ?? []);
  }
  // oclif looks only at the first argument for --version, and so does this.
  if (argv[0] === '--version') {
    const line = versionLine(pkg);
    if (line === undefined) return false;
    process.stdout.write(`${line}\n`);
    return true;
  }
  return false;
}
