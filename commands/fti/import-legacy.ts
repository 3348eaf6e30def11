import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { importLegacyFti } from '../../src/offboarding/log.js';
import { confirmOrRefuse } from '../../src/ui/prompt.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class FtiImportLegacy extends BaseCommand {
  static override summary = 'Bind FTI log entries recorded before the log was hashed into the audit chain, marked as imported.';
  static override examples = [
    '<%= config.bin %> fti import-legacy irs-2025-0042',
    '<%= config.bin %> fti import-legacy irs-2025-0042 --yes --json',
  ];
  static override description =
    'Entries recorded by an earlier detailee have an audit event with their media, record count and date, but not a hash of their content, so a change to their description or location would go unseen. Check them against your own records first: this appends one `fti.imported` event per entry vouching for its present content, under your name, and certificates mark those entries "imported". Refused (exit 3) when any entry was deleted, altered or inserted.';
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'import without asking (required without a terminal)' }),
  };

  async run(): Promise<JsonOutputs['fti import-legacy']> {
    const { args, flags } = await this.parse(FtiImportLegacy);
    const ctx = await this.context();
    const preview = await importLegacyFti(ctx, args.id, { apply: false });
    if (preview.pending.length === 0) {
      this.log(`No legacy FTI entries to import for ${args.id}.`);
      return preview;
    }
    for (const p of preview.pending) {
      const c = p.content;
      this.log(`  ${p.entry} (recorded at event ${p.legacyEvent}): ${String(c.description)}; ${String(c.type)}; tax years ${String(c.taxYears)}; ${String(c.records)} record(s) on ${String(c.media)} at ${String(c.location)}; received ${String(c.received)}`);
    }
    const ok = await confirmOrRefuse(`Vouch for the present content of these ${preview.pending.length} entries, as shown?`, {
      yes: flags.yes,
      json: this.jsonEnabled(),
    });
    if (!ok) {
      this.log('Not confirmed: nothing was changed.');
      return preview;
    }
    const done = await importLegacyFti(ctx, args.id, { apply: true, shown: preview.pending });
    this.log(`Imported ${done.imported.length} entr${done.imported.length === 1 ? 'y' : 'ies'} of ${args.id}: ${done.imported.map((i) => `${i.entry} (event ${i.event})`).join(', ')}`);
    return done;
  }
}
