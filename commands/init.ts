import { Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { parseSigner, sectionFrom, writeInitialConfig, type InitAws, type InitLdap, type InitOptions, type InitSmtp } from '../src/config/init.js';
import { loadConfig } from '../src/config/load.js';
import { requireStoreUrl } from '../src/config/resolve.js';
import { openStore } from '../src/store/open.js';
import { isInteractive } from '../src/ui/prompt.js';
import type { JsonOutputs } from '../src/cli/json-outputs.js';

export default class Init extends BaseCommand {
  static override summary = 'Write a complete, commented config, create the store and generate the certificate signing key.';
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --dir /etc/detailee --timezone America/New_York --store sqlite:/var/lib/detailee/detailee.db',
    '<%= config.bin %> init --ldap-url ldaps://ldap.irs.example.gov --ldap-bind-dn cn=detailee,ou=services,dc=irs,dc=example,dc=gov --ldap-bind-password-file secrets/ldap-password --ldap-people-dn ou=people,dc=irs,dc=example,dc=gov --ldap-groups-dn ou=groups,dc=irs,dc=example,dc=gov --aws-region us-east-1 --notices-from detailee@irs.example.gov --signer alan.turing:approver:keys/alan.turing.pub.pem',
  ];
  static override description = `The written detailee.yaml has every section (store, time zone, trusted signers, LDAP and AWS targets, notices, certificates); what the flags do not fill is left as commented-out lines showing what to write.

On a terminal, asks for what the flags do not give. Without one (or with --json) it never asks: it uses the flags, and leaves the rest commented out. A target's flags come all together or not at all.`;
  static override flags = {
    dir: Flags.string({ description: 'folder for detailee.yaml, keys/, outbox/, certificates/', default: '.' }),
    timezone: Flags.string({ description: 'the host agency\'s IANA time zone (default America/New_York)' }),
    store: Flags.string({ description: 'sqlite:<path> or a postgres:// URL (default sqlite:detailee.db)' }),
    force: Flags.boolean({ description: 'overwrite an existing detailee.yaml (keeps an existing key)' }),
    signer: Flags.string({ description: 'a trusted signer NAME:ROLE:PUBLIC_KEY_FILE; repeatable', multiple: true, helpGroup: 'TRUST' }),
    'ldap-url': Flags.string({ description: 'ldap:// or ldaps:// URL of the directory', helpGroup: 'LDAP' }),
    'ldap-bind-dn': Flags.string({ description: 'DN detailee binds as', helpGroup: 'LDAP' }),
    'ldap-bind-password-file': Flags.string({ description: 'file holding the bind password', helpGroup: 'LDAP', exclusive: ['ldap-bind-password-env'] }),
    'ldap-bind-password-env': Flags.string({ description: 'environment variable holding the bind password', helpGroup: 'LDAP' }),
    'ldap-people-dn': Flags.string({ description: 'where detailee creates accounts', helpGroup: 'LDAP' }),
    'ldap-groups-dn': Flags.string({ description: 'where the groups manifests name are', helpGroup: 'LDAP' }),
    'aws-region': Flags.string({ description: 'AWS region of the IAM target (e.g. us-east-1)', helpGroup: 'AWS' }),
    'aws-endpoint': Flags.string({ description: 'IAM endpoint URL (only for an emulator or a private endpoint)', helpGroup: 'AWS' }),
    'aws-path': Flags.string({ description: 'IAM path for detailee users (default /detailees/)', helpGroup: 'AWS' }),
    'notices-from': Flags.string({ description: 'address notices are sent from', helpGroup: 'NOTICES' }),
    'smtp-host': Flags.string({ description: 'SMTP server (without one, notices go to the outbox folder)', helpGroup: 'NOTICES' }),
    'smtp-port': Flags.integer({ description: 'SMTP port (default 587)', helpGroup: 'NOTICES' }),
    'smtp-username': Flags.string({ description: 'SMTP user name', helpGroup: 'NOTICES' }),
    'smtp-password-file': Flags.string({ description: 'file holding the SMTP password', helpGroup: 'NOTICES', exclusive: ['smtp-password-env'] }),
    'smtp-password-env': Flags.string({ description: 'environment variable holding the SMTP password', helpGroup: 'NOTICES' }),
  };

  async run(): Promise<JsonOutputs['init']> {
    const { flags: f } = await this.parse(Init);
    const ask = isInteractive() && !this.jsonEnabled();
    const o: InitOptions = {
      dir: f.dir,
      timezone: f.timezone ?? 'America/New_York',
      store: f.store,
      force: f.force,
      ldap: sectionFrom<InitLdap>(
        'LDAP',
        {
          'ldap-url': f['ldap-url'],
          'ldap-bind-dn': f['ldap-bind-dn'],
          'ldap-bind-password-file': f['ldap-bind-password-file'] ?? f['ldap-bind-password-env'],
          'ldap-people-dn': f['ldap-people-dn'],
          'ldap-groups-dn': f['ldap-groups-dn'],
        },
        ['ldap-url', 'ldap-bind-dn', 'ldap-bind-password-file', 'ldap-people-dn', 'ldap-groups-dn'],
        (v) => ({
          url: v['ldap-url']!,
          bindDN: v['ldap-bind-dn']!,
          bindPasswordFile: f['ldap-bind-password-file'],
          bindPasswordEnv: f['ldap-bind-password-env'],
          peopleDN: v['ldap-people-dn']!,
          groupsDN: v['ldap-groups-dn']!,
        }),
      ),
      aws: sectionFrom<InitAws>('AWS', { 'aws-region': f['aws-region'], 'aws-endpoint': f['aws-endpoint'], 'aws-path': f['aws-path'] }, ['aws-region'], (v) => ({
        region: v['aws-region']!,
        endpoint: v['aws-endpoint'],
        path: v['aws-path'],
      })),
      noticesFrom: f['notices-from'],
      smtp: sectionFrom<InitSmtp>(
        'SMTP',
        {
          'smtp-host': f['smtp-host'],
          'smtp-port': f['smtp-port']?.toString(),
          'smtp-username': f['smtp-username'],
          'smtp-password-file': f['smtp-password-file'],
          'smtp-password-env': f['smtp-password-env'],
        },
        ['smtp-host'],
        (v) => ({ host: v['smtp-host']!, port: f['smtp-port'], username: v['smtp-username'], passwordFile: v['smtp-password-file'], passwordEnv: v['smtp-password-env'] }),
      ),
      signers: (f.signer ?? []).map(parseSigner),
    };
    if (ask) await this.askFor(o, f.timezone === undefined, f.store === undefined);

    const r = writeInitialConfig(o);
    const cfg = loadConfig(r.config);
    const store = await openStore(requireStoreUrl(cfg), { migrate: true });
    await store.close();
    this.log(`Wrote ${r.config}`);
    this.log(`Certificate signing key: ${r.signingKey} (public: ${r.publicKey})`);
    this.log(`Store: ${store.location}`);
    if (r.todo.length > 0) {
      this.log('Before the first onboarding:');
      for (const t of r.todo) this.log(`  - ${t}`);
    }
    return { ...r, store: store.location };
  }

  /** The prompts of a terminal session, for what the flags left open. */
  private async askFor(o: InitOptions, timezone: boolean, storeOpen: boolean): Promise<void> {
    const { input, confirm } = await import('@inquirer/prompts');
    const required = (v: string) => (v.trim() === '' ? 'required' : true);
    if (timezone) o.timezone = await input({ message: 'Host agency time zone (IANA)', default: o.timezone });
    if (storeOpen) o.store = await input({ message: 'Store (sqlite:<path> or postgres://…)', default: 'sqlite:detailee.db' });
    if (!o.ldap && (await confirm({ message: 'Provision LDAP accounts?', default: false }))) {
      const url = await input({ message: 'LDAP URL (ldaps://…)', validate: required });
      const bindDN = await input({ message: 'Bind DN', validate: required });
      const pw = await input({ message: 'File holding the bind password (or $VARIABLE for an environment variable)', default: 'secrets/ldap-password' });
      const peopleDN = await input({ message: 'People DN (where accounts are created)', validate: required });
      const groupsDN = await input({ message: 'Groups DN', validate: required });
      o.ldap = {
        url,
        bindDN,
        ...(pw.startsWith('$') ? { bindPasswordEnv: pw.slice(1) } : { bindPasswordFile: pw }),
        peopleDN,
        groupsDN,
      };
    }
    if (!o.aws && (await confirm({ message: 'Provision AWS IAM users?', default: false }))) {
      o.aws = { region: await input({ message: 'AWS region', default: 'us-east-1' }) };
    }
    if (o.noticesFrom === undefined) {
      const from = await input({ message: 'Address notices are sent from (empty: decide later)' });
      if (from.trim() !== '') o.noticesFrom = from.trim();
    }
    if (!o.signers || o.signers.length === 0) {
      const s = await input({ message: 'A trusted signer NAME:ROLE:PUBLIC_KEY_FILE (empty: add later)' });
      if (s.trim() !== '') o.signers = [parseSigner(s.trim())];
    }
  }
}
