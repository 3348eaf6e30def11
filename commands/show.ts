import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { clockFromEnv } from '../src/time/clock.js';
import { show } from '../src/lifecycle/show.js';
import { table } from '../src/ui/table.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Show extends BaseCommand {
  static override summary = 'Show one assignment: state, term, days left, next action and its timeline.';
  static override description =
    'Also, per recorded target, the provisioned object (LDAP DN or IAM user ARN), its groups and policies, and the last revocation proof read from it (when, from which server, what it read); and, once issued, the destruction certificate with its files in certificates.outputDir, naming any file or .sig that is not there.';
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override examples = ['<%= config.bin %> show irs-2025-0042'];

  async run(): Promise<JsonOutputs['show']> {
    const { args } = await this.parse(Show);
    const store = await this.openStore();
    const config = await this.loadConfig();
    const r = await show(store, args.id, clockFromEnv().now(), { outputDir: config.certificates.outputDir });
    this.log(`${r.id} (${r.username}) — ${r.display}`);
    this.log(`  agreement:   ${r.agreement}`);
    this.log(`  term:        ${r.start} to ${r.lastDay} (last day), ends ${r.endsAt} [${r.timezone}]`);
    this.log(`  days left:   ${r.daysLeft}    renewals left: ${r.renewalsLeft}`);
    this.log(`  signed by:   ${r.signers.map((s) => `${s.name} (${s.role}, ${s.form})`).join(', ')}`);
    if (r.revokedAt) this.log(`  revoked at:  ${r.revokedAt}${r.revokeReason ? ` — ${r.revokeReason}` : ''}${r.revocationComplete === false ? '  [INCOMPLETE]' : ''}`);
    for (const t of r.targets) {
      this.log(`  target:      ${t.target} ${t.object ?? '(not yet read back)'}`);
      this.log(`    groups:    ${t.groups.length ? t.groups.join(', ') : '(none)'}`);
      if (t.target === 'aws' || t.policies.length) this.log(`    policies:  ${t.policies.length ? t.policies.join(', ') : '(none)'}`);
      if (t.proof) this.log(`    last proof: ${t.proof.ok ? 'PROVEN' : 'NOT PROVEN'}, read ${t.proof.readAt} from ${t.proof.server}`);
    }
    if (r.revocation) {
      this.log(`  revocation:  ${r.revocation.condition.toUpperCase()}${r.revocation.checkedAt ? ` (checked ${r.revocation.checkedAt})` : ''}`);
      for (const p of r.revocation.proven) this.log(`    proof:     ${p.summary}`);
      for (const u of r.revocation.unproven) this.log(`    unproven:  ${u.target}: ${u.reason}`);
    }
    if (r.certificate) {
      const c = r.certificate;
      this.log(`  certificate: ${c.id} issued ${c.issuedAt}`);
      if (c.files) for (const f of Object.values(c.files)) this.log(`    file:      ${f}${c.missing.includes(f) ? '  [MISSING]' : ''}${c.missing.includes(`${f}.sig`) ? '  [.sig MISSING]' : ''}`);
      else this.log('    files:     unknown: certificates.outputDir is not set');
    }
    this.log(`  next action: ${r.nextAction}`);
    this.log('');
    this.log(table(['SEQ', 'AT', 'ACTOR', 'EVENT', 'DETAIL'], r.timeline.map((t) => [String(t.seq), t.at, t.actor, t.kind, t.summary])));
    return r;
  }
}
