import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { InputError } from '../../src/errors.js';
import { listAllFtiEntries, listFtiEntries } from '../../src/offboarding/log.js';
import type { FtiLogEntry } from '../../src/offboarding/fti-chain.js';
import { table } from '../../src/ui/table.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

const HEADERS = ['ENTRY', 'RECEIVED', 'MEDIA', 'RECORDS', 'TAX YEARS', 'LOCATION', 'DESCRIPTION', 'NOTE'];

export default class FtiList extends BaseCommand {
  static override summary = 'List the FTI log of an assignment, or of all of them, as the audit chain records it.';
  static override description =
    'Entries in force, corrections applied; --history adds the corrected ones. Without an id (or with --all), the entries of every assignment, with an ASSIGNMENT column (assignmentId in --json). Every entry is checked against the hash its audit event carries: when a row was deleted, altered or inserted in the store, nothing is listed and the exit is 3, naming the entry.';
  static override examples = [
    '<%= config.bin %> fti list irs-2025-0042',
    '<%= config.bin %> fti list irs-2025-0042 --history --json',
    '<%= config.bin %> fti list --all',
  ];
  static override args = { id: Args.string({ description: 'assignment id; without it, every assignment' }) };
  static override flags = {
    history: Flags.boolean({ description: 'also list entries that a later correction superseded' }),
    all: Flags.boolean({ description: 'list the entries of every assignment (the same as giving no id)' }),
  };

  async run(): Promise<JsonOutputs['fti list']> {
    const { args, flags } = await this.parse(FtiList);
    if (args.id !== undefined && flags.all) {
      throw new InputError('Give an assignment id or --all, not both.', {
        code: 'fti.list-scope',
        actions: [`Run \`detailee fti list ${args.id}\` for one assignment, or \`detailee fti list --all\` for every one.`],
      });
    }
    const store = await this.openStore();
    if (args.id !== undefined) {
      const entries = await listFtiEntries(store, args.id, { history: flags.history });
      if (entries.length === 0) this.log(`No FTI recorded for ${args.id}.`);
      else this.log(table(HEADERS, entries.map(cells)));
      return entries;
    }
    const entries = await listAllFtiEntries(store, { history: flags.history });
    if (entries.length === 0) this.log('No FTI recorded for any assignment.');
    else this.log(table(['ASSIGNMENT', ...HEADERS], entries.map((e) => [e.assignmentId, ...cells(e)])));
    return entries;
  }
}

function cells(e: FtiLogEntry): string[] {
  return [e.id, e.received, e.media, String(e.records), e.taxYears.join(','), e.location, e.description, note(e)];
}

function note(e: FtiLogEntry): string {
  const parts: string[] = [];
  if (e.supersedes) parts.push(`corrects ${e.supersedes}`);
  if (e.supersededBy) parts.push(`corrected by ${e.supersededBy}`);
  if (e.provenance === 'imported') parts.push('imported');
  return parts.join('; ');
}
