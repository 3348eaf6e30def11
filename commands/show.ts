import { Args } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { clockFromEnv } from '../src/clock.js';
import { show, type ShowResult } from '../src/lifecycle/status.js';
import { table } from '../src/ui/table.js';

export default class Show extends BaseCommand {
  static override summary = 'Show one assignment: state, term, days left, next action and its timeline.';
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override examples = ['<%= config.bin %> show irs-2025-0042'];

  async run(): Promise<ShowResult> {
    const { args } = await this.parse(Show);
    const store = await this.openStore();
    const r = await show(store, args.id, clockFromEnv().now());
    this.log(`${r.id} (${r.username}) — ${r.display}`);
    this.log(`  agreement:   ${r.agreement}`);
    this.log(`  term:        ${r.start} to ${r.lastDay} (last day), ends ${r.endsAt} [${r.timezone}]`);
    this.log(`  days left:   ${r.daysLeft}    renewals left: ${r.renewalsLeft}`);
    this.log(`  signed by:   ${r.signers.map((s) => `${s.name} (${s.role}, ${s.form})`).join(', ')}`);
    if (r.revokedAt) this.log(`  revoked at:  ${r.revokedAt}${r.revokeReason ? ` — ${r.revokeReason}` : ''}${r.revocationComplete === false ? '  [INCOMPLETE]' : ''}`);
    for (const t of r.targets) {
      this.log(`  target:      ${t.target} ${t.object ?? '(not yet read back)'}${t.groups.length ? `; groups ${t.groups.join(', ')}` : ''}${t.policies.length ? `; policies ${t.policies.join(', ')}` : ''}`);
    }
    if (r.revocation) {
      this.log(`  revocation:  ${r.revocation.condition.toUpperCase()}${r.revocation.checkedAt ? ` (checked ${r.revocation.checkedAt})` : ''}`);
      for (const p of r.revocation.proven) this.log(`    proof:     ${p.summary}`);
      for (const u of r.revocation.unproven) this.log(`    unproven:  ${u.target}: ${u.reason}`);
    }
    this.log(`  next action: ${r.nextAction}`);
    this.log('');
    this.log(table(['SEQ', 'AT', 'ACTOR', 'EVENT', 'DETAIL'], r.timeline.map((t) => [String(t.seq), t.at, t.actor, t.kind, t.summary])));
    return r;
  }
}
