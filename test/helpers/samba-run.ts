import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: names one Samba template folder for the whole test run (each test file's
 * process inherits it), so the domain is provisioned at most once per run, only if a test starts a
 * DC, and removed when the run ends. Costs nothing when no test needs Samba.
 */
export default function setup(): () => void {
  if (process.env.DETAILEE_SAMBA_TEMPLATE) return () => undefined;
  const root = mkdtempSync(join(tmpdir(), 'detailee-samba-run-'));
  process.env.DETAILEE_SAMBA_TEMPLATE = join(root, 'template');
  return () => rmSync(root, { recursive: true, force: true });
}
