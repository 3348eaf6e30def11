import { BaseCommand } from '../src/cli/base.js';
import { clockFromEnv } from '../src/time/clock.js';
import { askPassphrase } from '../src/config/signing-key.js';
import { configFailed, type DoctorResult } from '../src/doctor/checks.js';
import { ExitCode } from '../src/errors.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

const MARK = { pass: '✓', fail: '✗', skip: '-' } as const;

export default class Doctor extends BaseCommand {
  static override summary = 'Check the installation: config, store, each target with its credentials, signing key, trust anchors and CRLs, clock. Changes nothing.';
  static override description = `One line per check, ✓ or ✗, and the fix under each ✗. Exit 0 only when no check fails; 1 otherwise. Run it after installing and before the first nightly run.
The target checks only read: an LDAP bind, the password policy (ppolicy) and the people and groups entries; the caller's IAM identity and the listings a revocation proof reads.`;
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  async run(): Promise<JsonOutputs['doctor']> {
    await this.parse(Doctor);
    let result: DoctorResult;
    let config;
    try {
      config = await this.loadConfig();
    } catch (e) {
      result = configFailed(e);
    }
    if (config) {
      const { runDoctor } = await import('../src/doctor/doctor.js');
      result = await runDoctor(config, { now: clockFromEnv().now(), key: { ask: this.jsonEnabled() ? undefined : askPassphrase } });
    }
    for (const c of result!.checks) {
      this.log(`${MARK[c.status]} ${c.title}: ${c.status === 'skip' ? `skipped — ${c.detail}` : c.detail}`);
      if (c.fix) this.log(`    fix: ${c.fix}`);
    }
    this.log(result!.ok ? 'All checks passed.' : `${result!.checks.filter((c) => c.status === 'fail').length} check(s) failed.`);
    if (!result!.ok) this.setExit(ExitCode.actionFailed);
    return result!;
  }
}
