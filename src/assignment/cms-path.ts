/**
 * Trust material from the configuration, and the certification path from a signer to a trust
 * anchor. The path is built here rather than by pkijs's chain engine, so that each refusal has a
 * reason an officer can act on.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { TrustConfig, TrustedIssuer } from '../config/schema.js';
import { readBoundedFile } from '../text-file.js';
import { certOf, certSignedBy, checkSignature, extension, fromDer, isoSeconds, keyUsageBits, KEY_USAGE_NAMES, OID, pemOrDer, sameCert, serialHex, type Cert } from './x509.js';
import { dnKeyFromString, dnOf, type Dn } from './x509-name.js';

/**
 * Extensions whose meaning we enforce or that cannot widen what a certificate may do. RFC 5280
 * requires refusing a certificate with any other extension marked critical.
 */
const UNDERSTOOD_CERT_EXTENSIONS = new Set([
  OID.keyUsage,
  OID.basicConstraints,
  OID.subjectKeyId,
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.32', // certificatePolicies: we require no policy, which is what anyPolicy would give
]);
/** cRLNumber and authorityKeyIdentifier; delta and indirect CRLs (critical extensions) are refused. */
const UNDERSTOOD_CRL_EXTENSIONS = new Set(['2.5.29.20', '2.5.29.35']);
const MAX_CHAIN = 8;

export interface LoadedCrl {
  path: string;
  crl: pkijs.CertificateRevocationList;
  issuer: Dn;
}

export interface TrustMaterial {
  anchors: Cert[];
  crls: LoadedCrl[];
  /** Unreadable CA or CRL files: every CMS signature fails while the trust configuration is broken. */
  problems: string[];
}

export function loadTrust(trust: TrustConfig): TrustMaterial {
  const anchors: Cert[] = [];
  const crls: LoadedCrl[] = [];
  const problems: string[] = [];
  for (const path of trust.caCertificates) {
    try {
      for (const der of pemOrDer(readBoundedFile(path, 'CA certificate'), ['CERTIFICATE'])) anchors.push(certOf(der));
    } catch (e) {
      problems.push(`trust anchor file ${path} cannot be read: ${(e as Error).message}`);
    }
  }
  for (const path of trust.crls) {
    try {
      for (const der of pemOrDer(readBoundedFile(path, 'CRL'), ['X509 CRL'])) {
        const crl = new pkijs.CertificateRevocationList({ schema: fromDer(der) });
        crls.push({ path, crl, issuer: dnOf(crl.issuer) });
      }
    } catch (e) {
      problems.push(`CRL file ${path} cannot be read: ${(e as Error).message}`);
    }
  }
  if (anchors.length === 0 && problems.length === 0) problems.push('no trust anchors are configured (trust.caCertificates is empty)');
  return { anchors, crls, problems };
}

/** Leaf first, trust anchor last; or why no such path exists. */
export function buildPath(leaf: Cert, pool: Cert[], anchors: Cert[]): Cert[] | string {
  const path = [leaf];
  let cur = leaf;
  for (;;) {
    if (anchors.some((a) => sameCert(a, cur))) return path;
    const anchor = anchors.find((a) => a.subject.key === cur.issuer.key && certSignedBy(cur, a) === undefined);
    if (anchor) return [...path, anchor];
    let why: string | undefined;
    const next = pool.find((c) => {
      if (c.subject.key !== cur.issuer.key || path.some((p) => sameCert(p, c))) return false;
      const r = certSignedBy(cur, c);
      why ??= r;
      return r === undefined;
    });
    if (!next) {
      if (why) return `certificate ${cur.subject.text} is not validly signed by its issuer ${cur.issuer.text}: ${why}`;
      return cur.subject.key === cur.issuer.key
        ? `chain does not end at a configured trust anchor: it ends at ${cur.subject.text}, which is not in trust.caCertificates`
        : `chain does not end at a configured trust anchor: the issuer ${cur.issuer.text} of ${cur.subject.text} is neither configured nor included in the signature`;
    }
    path.push(next);
    if (path.length > MAX_CHAIN) return `chain is longer than ${MAX_CHAIN} certificates`;
    cur = next;
  }
}

/** What the signer's extended key usage must allow, when it has one. */
const SIGNING_PURPOSES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.36': 'documentSigning',
  '2.16.840.1.101.3.6.7': 'PIV content signing',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};
const OTHER_PURPOSES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

/** Why the end-entity certificate may not sign a manifest, if it may not. */
function signerProblems(cert: Cert): string[] {
  const problems: string[] = [];
  const { c } = cert;
  const ku = keyUsageBits(c);
  if (!ku) {
    problems.push(`certificate ${cert.subject.text} may not sign documents: it has no key usage extension, and a signer's certificate must assert digitalSignature or nonRepudiation`);
  } else if (!ku[0] && !ku[1]) {
    const has = KEY_USAGE_NAMES.filter((_, n) => ku[n]).join(', ') || 'none';
    problems.push(`certificate ${cert.subject.text} may not sign documents: its key usage (${has}) has neither digitalSignature nor nonRepudiation`);
  }
  const eku = extension(c, OID.extKeyUsage);
  if (eku) {
    const purposes = (eku.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes;
    if (!Array.isArray(purposes)) {
      problems.push(`certificate ${cert.subject.text} has an extended key usage extension that cannot be read`);
    } else if (!purposes.some((p) => SIGNING_PURPOSES[p] !== undefined)) {
      const has = purposes.map((p) => OTHER_PURPOSES[p] ?? p).join(', ') || 'none';
      problems.push(
        `certificate ${cert.subject.text} may not sign documents: its extended key usage (${has}) allows none of ${Object.values(SIGNING_PURPOSES).join(', ')}`,
      );
    }
  }
  const bc = extension(c, OID.basicConstraints)?.parsedValue as pkijs.BasicConstraints | undefined;
  // A CA's key certifies others; letting it approve a detail as well would make every certificate
  // it issues a possible stand-in for the approver, so a CA certificate never signs a manifest.
  if (bc?.cA) problems.push(`certificate ${cert.subject.text} is a CA certificate (basicConstraints cA); a CA may not sign documents, only a person's signing certificate may`);
  return problems;
}

/** The trust.issuers entry that names `issuer`, by fingerprint or subject. */
function issuerEntry(issuer: Cert, trust: Pick<TrustConfig, 'issuers'>): TrustedIssuer | undefined {
  const sha256 = createHash('sha256').update(issuer.der).digest('hex');
  return trust.issuers.find(
    (e) => e.certificateSha256 === sha256 || (e.certificateSubject !== undefined && dnKeyFromString(e.certificateSubject) === issuer.subject.key),
  );
}

export interface PathCheck {
  problems: string[];
  /** Accepted weakenings the configuration asked for (an issuer marked `revocation: unchecked`). */
  warnings: string[];
}

/** Every reason the path may not be relied on at `now`, or none. */
export function pathProblems(path: Cert[], crls: LoadedCrl[], trust: Pick<TrustConfig, 'issuers'>, now: Date): PathCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  const t = now.getTime();
  path.forEach((cert, i) => {
    const { c } = cert;
    if (t < c.notBefore.value.getTime()) problems.push(`certificate ${cert.subject.text} is not valid until ${isoSeconds(c.notBefore.value)}`);
    if (t > c.notAfter.value.getTime()) problems.push(`certificate ${cert.subject.text} expired on ${isoSeconds(c.notAfter.value)}`);
    const isAnchor = i === path.length - 1 && i > 0;
    // The anchor is trusted because the configuration says so, not for its own extensions.
    if (!isAnchor) {
      for (const e of c.extensions ?? []) {
        if (e.critical && !UNDERSTOOD_CERT_EXTENSIONS.has(e.extnID)) problems.push(`certificate ${cert.subject.text} has an unsupported critical extension ${e.extnID}`);
      }
    }
    if (i === 0) {
      problems.push(...signerProblems(cert));
      return;
    }
    const ku = keyUsageBits(c);
    const bc = extension(c, OID.basicConstraints)?.parsedValue as pkijs.BasicConstraints | undefined;
    if (!isAnchor && !bc?.cA) problems.push(`certificate ${cert.subject.text} is not a CA (basicConstraints), so it may not issue certificates`);
    if (ku && !ku[5]) problems.push(`certificate ${cert.subject.text} may not issue certificates: its key usage lacks keyCertSign`);
    const pathLen = bc?.pathLenConstraint;
    const limit = typeof pathLen === 'number' ? pathLen : pathLen instanceof asn1js.Integer ? pathLen.valueBlock.valueDec : undefined;
    if (limit !== undefined && i - 1 > limit) problems.push(`certificate ${cert.subject.text} allows ${limit} intermediate CA(s) below it; this chain has ${i - 1}`);
  });
  // Revocation of every certificate the anchor vouches for, by CRLs from its own issuer. Every
  // issuer must have one: an issuer nobody checks is the gap the revoked signer walks through.
  for (let i = 0; i < path.length - 1; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    let checked = 0;
    for (const { path: file, crl, issuer: crlIssuer } of crls) {
      if (crlIssuer.key !== issuer.subject.key) continue;
      checked++;
      problems.push(...crlProblems(file, crl, cert, issuer, t));
    }
    if (checked > 0) continue;
    const entry = issuerEntry(issuer, trust);
    if (entry?.revocation === 'unchecked') {
      warnings.push(
        `revocation of ${cert.subject.text} is NOT checked: its issuer ${issuer.subject.text} is marked revocation: unchecked in trust.issuers, and no CRL from it is configured`,
      );
    } else {
      problems.push(
        `no CRL from ${issuer.subject.text} (the issuer of ${cert.subject.text}) is configured, so its revocation cannot be checked: add the issuer's current CRL to trust.crls, or mark the issuer revocation: unchecked in trust.issuers`,
      );
    }
  }
  return { problems, warnings };
}

/** Why one CRL from `issuer` fails, or revokes `cert`; none when it is current and clean. */
function crlProblems(file: string, crl: pkijs.CertificateRevocationList, cert: Cert, issuer: Cert, t: number): string[] {
  if (crl.signature.algorithmId !== crl.signatureAlgorithm.algorithmId) return [`CRL ${file} has differing inner and outer signature algorithms`];
  const bad = checkSignature(crl.tbsView, crl.signatureAlgorithm, crl.signatureValue.valueBlock.valueHexView, issuer.key);
  // A CRL we cannot authenticate proves nothing either way, so it fails closed rather than passing.
  if (bad) return [`CRL ${file} is not validly signed by its issuer ${issuer.subject.text}: ${bad}`];
  const problems: string[] = [];
  const iku = keyUsageBits(issuer.c);
  if (iku && !iku[6]) problems.push(`CRL ${file} comes from ${issuer.subject.text}, whose key usage lacks cRLSign`);
  for (const e of crl.crlExtensions?.extensions ?? []) {
    if (e.critical && !UNDERSTOOD_CRL_EXTENSIONS.has(e.extnID)) problems.push(`CRL ${file} has an unsupported critical extension ${e.extnID} (delta and indirect CRLs are not supported)`);
  }
  if (t < crl.thisUpdate.value.getTime()) problems.push(`CRL ${file} is not yet in force: issued for ${isoSeconds(crl.thisUpdate.value)}`);
  if (!crl.nextUpdate) {
    problems.push(`CRL ${file} has no nextUpdate, so whether it is current cannot be told; use a CRL that states its next update`);
  } else if (t > crl.nextUpdate.value.getTime()) {
    problems.push(`CRL ${file} is out of date: its next update was due ${isoSeconds(crl.nextUpdate.value)}; fetch a current CRL`);
  }
  const serial = serialHex(cert.c.serialNumber);
  for (const r of crl.revokedCertificates ?? []) {
    if (r.crlEntryExtensions?.extensions.some((e) => e.critical)) {
      problems.push(`CRL ${file} has an entry with a critical extension, which is not supported`);
      continue;
    }
    if (serialHex(r.userCertificate) === serial) {
      problems.push(`certificate serial ${serial} (${cert.subject.text}) revoked on ${isoSeconds(r.revocationDate.value)} per CRL ${file}`);
    }
  }
  return problems;
}
