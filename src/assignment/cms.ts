/**
 * CMS/PKCS#7 detached SignedData, as `openssl cms -sign -binary` or a PIV card produces it.
 *
 * pkijs parses; every signature (CMS, certificate, CRL) is checked with node:crypto against an
 * explicit allow-list of algorithms, and the path is built here rather than by pkijs's chain engine,
 * so that each refusal has a reason an officer can act on and nothing weaker than SHA-256 or
 * RSA-2048 slips through by default.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { TrustConfig, TrustedSigner } from '../config/schema.js';
import type { EntryResult, SignatureFile } from './signature-file.js';
import { buildPath, loadTrust, pathProblems, type TrustMaterial } from './cms-path.js';
import { certOf, checkSignature, DIGESTS, extension, fromDer, OID, pemOrDer, sameCert, serialHex, type Cert } from './x509.js';
import { children, dnKeyFromString, dnOf } from './x509-name.js';

export { dnKeyFromString };


/** The certificates carried in SignedData, with their bytes exactly as they were received. */
function embeddedCerts(signedDataSchema: asn1js.AsnType): Cert[] {
  const out: Cert[] = [];
  for (const el of children(signedDataSchema)) {
    if (el.idBlock.tagClass !== 3 || el.idBlock.tagNumber !== 0) continue;
    for (const item of children(el)) {
      // Other CertificateChoices (attribute certificates, other formats) cannot be path elements.
      if (item.idBlock.tagClass !== 1 || item.idBlock.tagNumber !== 16) continue;
      try {
        out.push(certOf(new Uint8Array(item.valueBeforeDecodeView)));
      } catch {
        // A certificate we cannot parse cannot be part of any path; the signer lookup says so if it mattered.
      }
    }
  }
  return out;
}

function findSignerCert(si: pkijs.SignerInfo, certs: Cert[]): Cert | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
    const issuer = dnOf(si.sid.issuer).key;
    const serial = serialHex(si.sid.serialNumber);
    return certs.find((c) => c.issuer.key === issuer && serialHex(c.c.serialNumber) === serial);
  }
  const sid = si.sid as asn1js.Constructed | asn1js.Primitive;
  const keyId = Buffer.from(
    sid.idBlock.isConstructed
      ? (children(sid)[0]?.valueBlock as { valueHexView?: Uint8Array } | undefined)?.valueHexView ?? []
      : (sid.valueBlock as { valueHexView: Uint8Array }).valueHexView,
  );
  return certs.find((c) => {
    const ski = (extension(c.c, OID.subjectKeyId)?.parsedValue as asn1js.OctetString | undefined)?.valueBlock.valueHexView;
    if (ski && Buffer.from(ski).equals(keyId)) return true;
    return createHash('sha1').update(c.c.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest().equals(keyId);
  });
}

function verifySignerInfo(payload: Uint8Array, sd: pkijs.SignedData, si: pkijs.SignerInfo, certs: Cert[], trust: TrustConfig, material: TrustMaterial, now: Date): EntryResult {
  const leaf = findSignerCert(si, certs);
  if (!leaf) return { ok: false, reason: 'the signer certificate is not included in the signature (sign without -nocerts)' };
  const who = leaf.subject.text;
  const hash = DIGESTS[si.digestAlgorithm.algorithmId];
  if (!hash) return { ok: false, who, reason: `digest algorithm ${si.digestAlgorithm.algorithmId} is not accepted; use SHA-256, SHA-384 or SHA-512` };
  const digest = createHash(hash).update(payload).digest();
  let signed: Uint8Array;
  if (si.signedAttrs) {
    const attrs = si.signedAttrs.attributes;
    const ct = attrs.filter((a) => a.type === OID.contentType);
    const md = attrs.filter((a) => a.type === OID.messageDigest);
    if (ct.length !== 1 || ct[0]!.values.length !== 1 || md.length !== 1 || md[0]!.values.length !== 1) {
      return { ok: false, who, reason: 'the signed attributes must hold exactly one content-type and one message-digest' };
    }
    const ctValue = ct[0]!.values[0] as asn1js.AsnType;
    if (!(ctValue instanceof asn1js.ObjectIdentifier) || ctValue.valueBlock.toString() !== sd.encapContentInfo.eContentType) {
      return { ok: false, who, reason: 'the signed content-type attribute does not match the SignedData content type' };
    }
    const mdValue = md[0]!.values[0] as asn1js.AsnType;
    if (!(mdValue instanceof asn1js.OctetString) || !Buffer.from(mdValue.valueBlock.valueHexView).equals(digest)) {
      return { ok: false, who, reason: 'the message digest does not match these manifest bytes (the file changed after signing)' };
    }
    signed = new Uint8Array(si.signedAttrs.encodedValue);
  } else {
    signed = payload;
  }
  const bad = checkSignature(signed, si.signatureAlgorithm, si.signature.valueBlock.valueHexView, leaf.key, hash);
  if (bad) {
    const reason = bad === 'signature does not verify' ? 'the signature does not verify over these manifest bytes' : bad;
    return { ok: false, who, reason };
  }

  const path = buildPath(leaf, certs.filter((c) => !sameCert(c, leaf)), material.anchors);
  if (typeof path === 'string') return { ok: false, who, reason: path };
  const { problems, warnings } = pathProblems(path, material.crls, trust, now);
  if (problems.length > 0) return { ok: false, who, reason: problems.join('; ') };

  const subjectMatches = (s: TrustedSigner): boolean => s.certificateSubject !== undefined && dnKeyFromString(s.certificateSubject) === leaf.subject.key;
  const sha256 = createHash('sha256').update(leaf.der).digest('hex');
  const candidates = trust.signers.filter((s) => s.certificateSha256?.toLowerCase() === sha256 || subjectMatches(s));
  if (candidates.length === 0) return { ok: false, who, reason: `certificate ${who} (SHA-256 ${sha256}) is not a trusted signer` };
  return { ok: true, who, candidates, warnings };
}

/** One result per SignerInfo, or a single failure for a file that is not a usable detached SignedData. */
export async function verifyCmsFile(payload: Uint8Array, file: SignatureFile, trust: TrustConfig, now: Date): Promise<EntryResult[]> {
  let ci: pkijs.ContentInfo;
  let sd: pkijs.SignedData;
  let certs: Cert[];
  if (Buffer.from(file.bytes.subarray(0, 13)).toString('latin1').toLowerCase() === 'mime-version:') {
    return [{ ok: false, reason: 'this is S/MIME, not a bare CMS signature; sign with `openssl cms -sign -binary -outform PEM` (or DER)' }];
  }
  try {
    const [der] = pemOrDer(file.bytes, ['PKCS7', 'CMS']);
    ci = new pkijs.ContentInfo({ schema: fromDer(der!) });
    if (ci.contentType !== OID.signedData) return [{ ok: false, reason: `the CMS content is ${ci.contentType}, not SignedData` }];
    sd = new pkijs.SignedData({ schema: ci.content });
    certs = embeddedCerts(ci.content as asn1js.AsnType);
  } catch (e) {
    return [{ ok: false, reason: `not a readable CMS SignedData: ${(e as Error).message}` }];
  }
  if (sd.encapContentInfo.eContent) return [{ ok: false, reason: 'the SignedData embeds its content; only detached signatures over the manifest file are accepted' }];
  if (sd.encapContentInfo.eContentType !== OID.data) return [{ ok: false, reason: `the signed content type is ${sd.encapContentInfo.eContentType}, not data` }];
  if (sd.signerInfos.length === 0) return [{ ok: false, reason: 'the SignedData has no signers' }];
  const material = loadTrust(trust);
  if (material.problems.length > 0) return [{ ok: false, reason: material.problems.join('; ') }];
  return sd.signerInfos.map((si) => verifySignerInfo(payload, sd, si, certs, trust, material, now));
}
