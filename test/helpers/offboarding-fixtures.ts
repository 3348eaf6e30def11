import type { AnswersInput } from '../../src/offboarding/answers.js';
import type { CertificateInput } from '../../src/offboarding/certificate.js';
import type { FtiEntry, FtiEntryInput } from '../../src/offboarding/fti.js';
import { ftiEntryId } from '../../src/offboarding/fti.js';
import { checkAnswers } from '../../src/offboarding/rules.js';

/** A fixed date, never the real one. */
export const TODAY = '2025-06-06';
export const ISSUED_AT = '2025-06-06T15:00:00.000Z';
const ASSIGNMENT_ID = 'irs-2025-017';

/** Test-only Ed25519 keys: fixed so that rendered bytes can be compared across runs. */
export const SIGNER_PRIVATE = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEQpAz7LHkG4LiDLSZ4tzkYH1ZfK4wciJ9In6wgNfHIo
-----END PRIVATE KEY-----
`;
export const SIGNER_PUBLIC = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAF7CVtcChLxRBqQJi5jyJ2m82R1hKvJbv4aFEYJSh+II=
-----END PUBLIC KEY-----
`;
export const OTHER_PRIVATE = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIAS33ihBbUcZPpnim0LJ/PVCdSPKmD9uaeY0e7RoiLIb
-----END PRIVATE KEY-----
`;

export function ftiEntry(seq: number, input: Partial<FtiEntryInput> = {}): FtiEntry {
  return {
    id: ftiEntryId(ASSIGNMENT_ID, seq),
    assignmentId: ASSIGNMENT_ID,
    recordedAt: '2025-03-01T14:00:00.000Z',
    recordedBy: 'officer.kim',
    description: `TY2021 extract batch ${seq}`,
    type: 'IRTF extract',
    taxYears: [2021],
    records: 40,
    media: 'paper',
    location: 'HQ room 4-210, safe B',
    received: '2025-03-01',
    ...input,
  };
}

/** One entry per interesting medium. */
export function entries(): FtiEntry[] {
  return [
    ftiEntry(1, { media: 'paper', description: 'Printed case summaries, batch 7', taxYears: [2019, 2020, 2021] }),
    ftiEntry(2, { media: 'usb', description: 'Encrypted USB stick DT-12 with extract', records: 1200, sender: 'IRS Office of Safeguards' }),
    ftiEntry(3, { media: 'hdd', description: 'Laptop drive of workstation W-88' }),
    ftiEntry(4, { media: 'cloud', description: 'S3 bucket fti-sandbox-7 (SSE-KMS)', location: 'AWS us-east-1' }),
  ];
}

export function goodAnswers(): AnswersInput {
  return {
    performedBy: { name: 'Pat Lee', title: 'IT Specialist', organization: 'IRS IT', location: 'HQ, room 4-210', phone: '202-555-0143' },
    validatedBy: { name: 'Dana Cruz', title: 'Disclosure Manager', organization: 'IRS Privacy', location: 'HQ, room 3-100', phone: '202-555-0199' },
    dispositions: [
      {
        entry: 'F-0001',
        action: 'destroyed',
        method: 'Destroy',
        technique: 'cross-cut-shred',
        particleSize: '1 mm x 5 mm',
        tool: { name: 'Intimus 007 S', version: 'model 2019' },
        date: '2025-06-05',
        verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' },
        destination: 'recycling facility',
      },
      {
        entry: 'F-0002',
        action: 'returned',
        date: '2025-06-04',
        receipt: 'Receipt R-77 signed by the IRS Office of Safeguards',
      },
      {
        entry: 'F-0003',
        action: 'destroyed',
        method: 'Purge',
        technique: 'sanitize-overwrite',
        details: 'one pass, zeros',
        tool: { name: 'hdparm', version: '9.65' },
        date: '2025-06-05',
        verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' },
        verification: 'sampling',
        destination: 'internal reuse',
        media: { make: 'Seagate', model: 'ST1000', serialNumber: 'ZN1A2B3C', propertyNumber: 'IRS-PROP-5521' },
      },
      {
        entry: 'F-0004',
        action: 'destroyed',
        method: 'Purge',
        technique: 'crypto-erase',
        details: 'KMS key scheduled for deletion',
        tool: { name: 'AWS KMS', version: '2025-06' },
        date: '2025-06-05',
        verifiedBy: { name: 'Sam Ortiz', title: 'Security Officer' },
        destination: 'other',
        encryptedFromStart: true,
        keyCopiesDestroyed: true,
      },
    ],
    propertyReturned: ['badge', 'laptop'],
    acknowledgement: { signedOn: '2025-06-05' },
  };
}

export function certificateInput(): CertificateInput {
  const e = entries();
  return {
    assignment: {
      id: ASSIGNMENT_ID,
      detailee: { givenName: 'Alex', familyName: 'Rivera', username: 'arivera', homeAgency: 'U.S. Digital Service' },
      host: { agency: 'Internal Revenue Service', office: 'IT Modernization' },
      agreement: { reference: 'MOU-2025-0042', sha256: 'a'.repeat(64) },
      term: { start: '2025-02-06', lastDay: '2025-06-05', endsAt: '2025-06-06T00:00:00.000-04:00', timezone: 'America/New_York' },
    },
    entries: e,
    answers: checkAnswers(goodAnswers(), e, TODAY),
    revocation: {
      revokedAt: '2025-06-06T04:00:00.000Z',
      targets: [
        { target: 'ldap', verifiedAt: '2025-06-06T04:00:05.000Z', evidence: ['pwdAccountLockedTime=000001010000Z', 'member of no groups'] },
        { target: 'aws', verifiedAt: '2025-06-06T04:00:09.000Z', evidence: ['access keys inactive', 'login profile absent', 'DenyAll attached'] },
      ],
    },
    auditHead: { seq: 42, hash: 'b'.repeat(64) },
    issuedAt: ISSUED_AT,
    issuer: 'officer.kim',
  };
}
