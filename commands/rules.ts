import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { MEDIA, type Media } from '../src/offboarding/fti.js';
import { renderRulesReport, rulesReport } from '../src/offboarding/rules-report.js';
import { table } from '../src/ui/table.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Rules extends BaseCommand {
  static override summary = 'Print the destruction rules: which sanitisation technique is valid for which media, and why.';
  static override examples = [
    '<%= config.bin %> rules',
    '<%= config.bin %> rules --media ssd',
    '<%= config.bin %> rules --json',
  ];
  static override description =
    'The table the offboarding answers and the interactive checklist are judged by (templates/rules/sanitization.yaml; NIST SP 800-88 Rev. 1 Appendix A and IRS Publication 1075). A technique, media or size outside it is refused with exit 2.';
  static override flags = {
    media: Flags.string({ description: 'show one media only', options: [...MEDIA] }),
  };

  async run(): Promise<JsonOutputs['rules']> {
    const { flags } = await this.parse(Rules);
    const report = rulesReport(undefined, flags.media as Media | undefined);
    this.log(renderRulesReport(report, table));
    return report;
  }
}
