import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON: what the audit chain hashes and certificates sign, so that any
 * JCS implementation can recompute them, and the one way two JSON documents are compared.
 */
export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalised');
  return s;
}
