import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { MEDIA, parseTaxYears } from '../../src/offboarding/fti.js';
import { recordFti } from '../../src/offboarding/log.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class FtiRecord extends BaseCommand {
  static override summary = 'Record federal tax information shared with a detailee (the FTI log: references, never the data).';
  static override examples = [
    '<%= config.bin %> fti record irs-2025-0042 --description "TY2021 extract batch 7" --type "return transcripts" --tax-years 2021 --records 250 --media paper --location "Bldg 2, Room 114, safe 3" --received 2025-03-03',
  ];
  static override description =
    'Text that looks like a taxpayer identifier (SSN/ITIN ###-##-####, nine digits in a row, EIN ##-#######) is refused with exit 2: the log holds a reference to the information, never the information.';
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override flags = {
    description: Flags.string({ description: 'what was shared, by reference (e.g. "TY2021 extract batch 7")', required: true }),
    type: Flags.string({ description: 'type of FTI (e.g. "return transcripts")', required: true }),
    'tax-years': Flags.string({ description: 'tax years: 2021 | 2021,2022 | 2019-2021', required: true }),
    records: Flags.integer({ description: 'approximate number of records', required: true, min: 1 }),
    media: Flags.string({ description: 'where it is held', options: [...MEDIA], required: true }),
    location: Flags.string({ description: 'exact location (system, room, cabinet)', required: true }),
    received: Flags.string({ description: 'date received (YYYY-MM-DD)', required: true }),
    sender: Flags.string({ description: 'who sent or provided it' }),
    reason: Flags.string({ description: 'the tax administration purpose' }),
  };

  async run(): Promise<JsonOutputs['fti record']> {
    const { args, flags } = await this.parse(FtiRecord);
    const ctx = await this.context();
    const entry = await recordFti(ctx, args.id, {
      description: flags.description,
      type: flags.type,
      taxYears: parseTaxYears(flags['tax-years']),
      records: flags.records,
      media: flags.media,
      location: flags.location,
      received: flags.received,
      ...(flags.sender === undefined ? {} : { sender: flags.sender }),
      ...(flags.reason === undefined ? {} : { reason: flags.reason }),
    });
    this.log(`Recorded ${entry.id} for ${args.id}: ${entry.records} record(s) on ${entry.media} at ${entry.location}`);
    return entry;
  }
}
