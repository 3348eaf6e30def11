import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { MEDIA, parseTaxYears, type FtiEntry } from '../../src/offboarding/fti.js';
import { correctFti } from '../../src/offboarding/log.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class FtiCorrect extends BaseCommand {
  static override summary = 'Correct an FTI log entry: a new entry that supersedes it, recorded in the audit chain.';
  static override examples = [
    '<%= config.bin %> fti correct irs-2025-0042 F-0001 --records 300',
    '<%= config.bin %> fti correct irs-2025-0042 F-0002 --location "Bldg 2, Room 114, safe 4" --json',
  ];
  static override description =
    'The corrected entry is never changed: the correction gets the next id and an `fti.corrected` audit event naming the entry it supersedes, and from then on only the new entry is in force (`fti list`, the offboarding checklist, the certificate). Give only the fields that were wrong; the others are carried over from the corrected entry, and the result is checked like a new entry (identifiers refused, exit 2).';
  static override args = {
    id: Args.string({ description: 'assignment id', required: true }),
    entry: Args.string({ description: 'the entry to correct (F-0001)', required: true }),
  };
  static override flags = {
    description: Flags.string({ description: 'what was shared, by reference' }),
    type: Flags.string({ description: 'type of FTI' }),
    'tax-years': Flags.string({ description: 'tax years: 2021 | 2021,2022 | 2019-2021' }),
    records: Flags.integer({ description: 'approximate number of records', min: 1 }),
    media: Flags.string({ description: 'where it is held', options: [...MEDIA] }),
    location: Flags.string({ description: 'exact location (system, room, cabinet)' }),
    received: Flags.string({ description: 'date received (YYYY-MM-DD)' }),
    sender: Flags.string({ description: 'who sent or provided it' }),
    reason: Flags.string({ description: 'the tax administration purpose' }),
  };

  async run(): Promise<JsonOutputs['fti correct']> {
    const { args, flags } = await this.parse(FtiCorrect);
    const ctx = await this.context();
    const entry = await correctFti(ctx, args.id, args.entry, {
      description: flags.description,
      type: flags.type,
      taxYears: flags['tax-years'] === undefined ? undefined : parseTaxYears(flags['tax-years']),
      records: flags.records,
      media: flags.media as FtiEntry['media'] | undefined,
      location: flags.location,
      received: flags.received,
      sender: flags.sender,
      reason: flags.reason,
    });
    this.log(`Recorded ${entry.id} for ${args.id}, correcting ${entry.supersedes}: ${entry.records} record(s) on ${entry.media} at ${entry.location}`);
    return entry;
  }
}
