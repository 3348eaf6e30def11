import { BaseCommand } from '../src/cli/base.js';
import { LATEST_SCHEMA } from '../src/store/migrations.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Migrate extends BaseCommand {
  static override summary = 'Apply the store\'s schema migrations (a shared PostgreSQL store is migrated only by this command).';
  static override examples = [
    '<%= config.bin %> migrate',
    'DETAILEE_DATABASE_URL=postgres://detailee@db.internal/detailee <%= config.bin %> migrate --json',
  ];

  async run(): Promise<JsonOutputs['migrate']> {
    await this.parse(Migrate);
    const store = await this.openStore({ migrate: true });
    const to = await store.schemaVersion();
    this.log(`Store ${store.location} is at schema version ${to} (this detailee: ${LATEST_SCHEMA}).`);
    return { store: store.location, schemaVersion: to };
  }
}
