import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { listFtiEntries } from '../../src/offboarding/log.js';
import type { FtiLogEntry } from '../../src/offboarding/fti-chain.js';
import { table } from '../../src/ui/table.js';

export default class FtiList extends BaseCommand {
  static override summary = 'List the FTI log of an assignment, as the audit chain records it.';
  static override description =
    'Entries in force, corrections applied; --history adds the corrected ones. Every entry is checked against the hash its audit event carries: when a row was deleted, altered or inserted in the store, nothing is listed and the exit is 3, naming the entry.';
  static override examples = [
    '<%= config.bin %> fti list irs-2025-0042',
    '<%= config.bin %> fti list irs-2025-0042 --history --json',
  ];
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override flags = {
    history: Flags.boolean({ description: 'also list entries that a later correction superseded' }),
  };

  async run(): Promise<FtiLogEntry[]> {
    const { args, flags } = await this.parse(FtiList);
    const store = await this.openStore();
    const entries = await listFtiEntries(store, args.id, { history: flags.history });
    if (entries.length === 0) this.log(`No FTI recorded for ${args.id}.`);
    else
      this.log(
        table(
          ['ENTRY', 'RECEIVED', 'MEDIA', 'RECORDS', 'TAX YEARS', 'LOCATION', 'DESCRIPTION', 'NOTE'],
          entries.map((e) => [e.id, e.received, e.media, String(e.records), e.taxYears.join(','), e.location, e.description, note(e)]),
        ),
      );
    return entries;
  }
}

function note(e: FtiLogEntry): string {
  const parts: string[] = [];
  if (e.supersedes) parts.push(`corrects ${e.supersedes}`);
  if (e.supersededBy) parts.push(`corrected by ${e.supersededBy}`);
  if (e.provenance === 'imported') parts.push('imported');
  return parts.join('; ');
}
