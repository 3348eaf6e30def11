import { Args } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { listFtiEntries } from '../../src/offboarding/log.js';
import type { FtiEntry } from '../../src/offboarding/fti.js';
import { table } from '../../src/ui/table.js';

export default class FtiList extends BaseCommand {
  static override summary = 'List the FTI log of an assignment.';
  static override examples = [
    '<%= config.bin %> fti list irs-2025-0042',
    '<%= config.bin %> fti list irs-2025-0042 --json',
  ];
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };

  async run(): Promise<FtiEntry[]> {
    const { args } = await this.parse(FtiList);
    const store = await this.openStore();
    const entries = await listFtiEntries(store, args.id);
    if (entries.length === 0) this.log(`No FTI recorded for ${args.id}.`);
    else
      this.log(
        table(
          ['ENTRY', 'RECEIVED', 'MEDIA', 'RECORDS', 'TAX YEARS', 'LOCATION', 'DESCRIPTION'],
          entries.map((e) => [e.id, e.received, e.media, String(e.records), e.taxYears.join(','), e.location, e.description]),
        ),
      );
    return entries;
  }
}
