import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LdapConfig } from '../../src/config/schema.js';
import { ldapTransport } from '../../src/targets/ldap/client.js';
import { createLdapTarget } from '../../src/targets/ldap/index.js';
import { startSlapd, type Slapd } from '../helpers/slapd.js';

/**
 * Transport security against a real slapd that serves StartTLS and ldaps:// with a certificate
 * from a CA made for the test: the tool really negotiates TLS when it says it does (slapd's stats
 * log shows it), and refuses a server certificate it cannot trust or that names another host.
 */
let slapd: Slapd;
let tls: NonNullable<Slapd['tls']>;

beforeAll(async () => {
  slapd = await startSlapd({ tls: true });
  tls = slapd.tls!;
});
afterAll(async () => {
  await slapd?.stop();
});

function config(over: Partial<LdapConfig>): LdapConfig {
  return {
    url: slapd.url,
    bindDN: slapd.bindDN,
    peopleDN: slapd.peopleDN,
    groupsDN: slapd.groupsDN,
    groupMemberAttribute: 'member',
    timeoutMs: 5000,
    ...over,
  } as LdapConfig;
}

/** Open a target, read one account (which binds), close; return what slapd logged meanwhile. */
async function session(over: Partial<LdapConfig>): Promise<string> {
  const before = tls.log().length;
  const t = await createLdapTarget(config(over), slapd.password);
  try {
    expect((await t.inspect('nobody')).exists).toBe(false);
  } finally {
    await t.close();
  }
  return tls.log().slice(before);
}

describe('ldapTransport: how the directory is reached', () => {
  it('ldaps:// is TLS from the start; loopback is clear unless StartTLS is asked for; any other host needs TLS', () => {
    expect(ldapTransport(new URL('ldaps://dir.example.gov'), false)).toBe('ldaps');
    expect(ldapTransport(new URL('ldap://127.0.0.1:389'), undefined)).toBe('plain');
    expect(ldapTransport(new URL('ldap://localhost:389'), true)).toBe('starttls');
    expect(ldapTransport(new URL('ldap://[::1]:389'), undefined)).toBe('plain');
    expect(ldapTransport(new URL('ldap://dir.example.gov'), undefined)).toBe('starttls');
    expect(ldapTransport(new URL('ldap://dir.example.gov'), true)).toBe('starttls');
    expect(ldapTransport(new URL('ldap://127.example.gov'), undefined)).toBe('starttls');
    expect(() => ldapTransport(new URL('ldap://10.1.2.3'), false)).toThrow(expect.objectContaining({ exit: 2, code: 'ldap.insecure' }));
  });
});

describe('TLS to a real slapd', () => {
  it('startTLS: true on loopback negotiates StartTLS before the bind', async () => {
    const log = await session({ startTLS: true, caCertificate: tls.caFile });
    expect(log).toMatch(/op=0 EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037/);
    expect(log).toMatch(/op=0 STARTTLS/);
    expect(log).toMatch(/op=1 BIND dn="cn=admin,dc=example,dc=gov"/);
  });

  it('without it, loopback stays in clear (no StartTLS in the log)', async () => {
    const log = await session({});
    expect(log).toMatch(/BIND dn="cn=admin,dc=example,dc=gov"/);
    expect(log).not.toMatch(/STARTTLS/);
  });

  it('ldaps:// connects with TLS from the first byte', async () => {
    const log = await session({ url: tls.ldapsUrl, caCertificate: tls.caFile });
    expect(log).toMatch(/TLS established tls_ssf=\d+/);
    expect(log).toMatch(/BIND dn="cn=admin,dc=example,dc=gov"/);
  });

  it('refuses a server certificate from a CA it was not given, and one that names another host', async () => {
    for (const over of [
      { url: tls.ldapsUrl },
      { startTLS: true },
      // The certificate is for IP 127.0.0.1; "localhost" is another name.
      { url: slapd.url.replace('127.0.0.1', 'localhost'), startTLS: true, caCertificate: tls.caFile },
    ] as Partial<LdapConfig>[]) {
      const t = await createLdapTarget(config(over), slapd.password);
      try {
        await expect(t.inspect('nobody'), JSON.stringify(over)).rejects.toMatchObject({ exit: 1, message: expect.stringMatching(/certificate|altnames|self[- ]signed|unable to verify/i) });
      } finally {
        await t.close();
      }
    }
  });
});
