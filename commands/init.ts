import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { writeInitialConfig, type InitResult } from '../src/config/init.js';
import { loadConfig } from '../src/config/load.js';
import { openStore } from '../src/store/open.js';
import { isInteractive } from '../src/ui/prompt.js';

export default class Init extends BaseCommand {
  static override summary = 'Write a config, create the store and generate the certificate signing key.';
  static override description = 'On a terminal, asks for what the flags do not give; without one, uses the flags and defaults. Targets (LDAP, AWS) and trusted signers are added to the written file by hand: see the README.';
  static override flags = {
    dir: Flags.string({ description: 'folder for detailee.yaml, keys/, outbox/, certificates/', default: '.' }),
    timezone: Flags.string({ description: 'the host agency\'s IANA time zone' }),
    store: Flags.string({ description: 'sqlite:<path> or a postgres:// URL (default sqlite:detailee.db)' }),
    force: Flags.boolean({ description: 'overwrite an existing detailee.yaml (keeps an existing key)' }),
  };

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init);
    let timezone = flags.timezone;
    if (!timezone && isInteractive() && !this.jsonEnabled()) {
      const { input } = await import('@inquirer/prompts');
      timezone = await input({ message: 'Host agency time zone (IANA)', default: 'America/New_York' });
    }
    const r = writeInitialConfig({ dir: flags.dir, timezone: timezone ?? 'America/New_York', store: flags.store, force: flags.force });
    const cfg = loadConfig(r.config);
    const store = await openStore(cfg.storeUrl, { migrate: true });
    await store.close();
    this.log(`Wrote ${r.config}`);
    this.log(`Certificate signing key: ${r.signingKey} (public: ${r.publicKey})`);
    this.log(`Store: ${store.location}`);
    return { ...r, store: store.location };
  }
}
