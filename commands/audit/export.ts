import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { iterateAudit } from '../../src/audit/audit.js';
import { InputError } from '../../src/errors.js';
import { checkOutputPath } from '../../src/text-file.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class AuditExport extends BaseCommand {
  static override summary = 'Export the audit log as JSON Lines (one event per line, in sequence order).';
  static override examples = [
    '<%= config.bin %> audit export --out audit.jsonl',
    '<%= config.bin %> audit export | gzip > audit.jsonl.gz',
  ];
  static override description = 'Each line holds seq, at, actor, kind, assignmentId, details, prev and hash: enough for anyone to recompute the chain (SHA-256 over RFC 8785 canonical JSON of every field but hash).';
  static override flags = { out: Flags.string({ description: 'file to write (default: stdout)' }) };

  async run(): Promise<JsonOutputs['audit export']> {
    const { flags } = await this.parse(AuditExport);
    if (this.jsonEnabled() && !flags.out) {
      throw new InputError('With --json, stdout carries the summary document, so the export needs a file.', {
        code: 'usage.out',
        actions: ['Pass --out FILE, or drop --json to stream JSON Lines to stdout.'],
      });
    }
    if (flags.out) checkOutputPath(flags.out, 'the audit export');
    const store = await this.openStore();
    const sink = flags.out ? createWriteStream(flags.out, { mode: 0o600 }) : process.stdout;
    let n = 0;
    for await (const e of iterateAudit(store)) {
      n++;
      if (!sink.write(`${JSON.stringify(e)}\n`)) await once(sink, 'drain');
    }
    if (flags.out) {
      (sink as ReturnType<typeof createWriteStream>).end();
      await once(sink, 'finish');
      this.note(`${n} events written to ${flags.out}`);
    }
    return { events: n, out: flags.out ?? null };
  }
}
