import { Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { resolveStoreUrl } from '../../src/config/resolve.js';
import { copyStore } from '../../src/store/copy.js';
import { openStore } from '../../src/store/open.js';
import { progress } from '../../src/ui/progress.js';
import type { JsonOutputs } from '../../src/cli/json-outputs.js';

export default class StoreCopy extends BaseCommand {
  static override summary = 'Copy every record from one store to an empty one (embedded SQLite to shared PostgreSQL, or back).';
  static override description =
    'The source audit chain is verified first (exit 3 if broken; nothing copied); audit events keep their sequence numbers and hashes; the destination chain is verified after and its head compared. A non-empty destination is refused (exit 2). The destination is migrated first.';
  static override flags = {
    from: Flags.string({ description: 'source store: sqlite:<path> or postgres://…', required: true }),
    to: Flags.string({ description: 'destination store: sqlite:<path> or postgres://…', required: true }),
  };
  static override examples = ['<%= config.bin %> store copy --from sqlite:detailee.db --to postgres://detailee@db.internal/detailee'];

  async run(): Promise<JsonOutputs['store copy']> {
    const { flags } = await this.parse(StoreCopy);
    const from = await openStore(resolveStoreUrl(flags.from, process.cwd(), {}, '--from'), { migrate: false, mustExist: 'source store (--from)' });
    try {
      const to = await openStore(resolveStoreUrl(flags.to, process.cwd(), {}, '--to'), { migrate: true });
      try {
        const r = await copyStore(from, to, progress(!this.jsonEnabled()));
        this.log(`Copied ${r.assignments} assignment(s) and ${r.auditEvents} audit event(s) from ${from.location} to ${to.location}; both chains verify and their heads match.`);
        return { ...r, from: from.location, to: to.location };
      } finally {
        await to.close();
      }
    } finally {
      await from.close();
    }
  }
}
