import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { offboard } from '../src/offboarding/offboard.js';
import { isInteractive } from '../src/ui/prompt.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Offboard extends BaseCommand {
  static override summary = 'Revoke if needed, walk the destruction checklist, and issue the signed certificate (JSON, Markdown, PDF).';
  static override examples = [
    '<%= config.bin %> offboard irs-2025-0042',
    '<%= config.bin %> offboard irs-2025-0042 --answers answers.yaml --json',
  ];
  static override description = `Revocation is verified live on every target by the tool; it is never asked. Then one disposition per FTI log entry (returned with a receipt, or sanitised by a technique that \`detailee rules\` lists for its media: NIST SP 800-88, IRS Pub 1075), property returned, the detailee's acknowledgement that IRC 6103 keeps binding them, and the validating official.
Without --answers the checklist is asked on the terminal, and an interrupted run resumes where it stopped. Without a terminal, --answers is required; a missing answer is exit 2 naming the item.`;
  static override args = { id: Args.string({ description: 'assignment id', required: true }) };
  static override flags = {
    answers: Flags.string({ description: 'answers file (YAML or JSON; format in the README)' }),
  };

  async run(): Promise<JsonOutputs['offboard']> {
    const { args, flags } = await this.parse(Offboard);
    const ctx = await this.context();
    const prompts = !flags.answers && isInteractive() && !this.jsonEnabled() ? await import('@inquirer/prompts') : undefined;
    const r = await offboard(ctx, args.id, { answersFile: flags.answers, prompts });
    this.log(r.message);
    this.log(`  JSON:     ${r.certificate.files.json}`);
    this.log(`  Markdown: ${r.certificate.files.markdown}`);
    this.log(`  PDF:      ${r.certificate.files.pdf}`);
    this.log(`  hash ${r.certificate.hash}, signed by ${r.certificate.keyId}`);
    this.log(`  each file has FILE.sig beside it; public key: ${r.certificate.publicKey}`);
    return r;
  }
}
