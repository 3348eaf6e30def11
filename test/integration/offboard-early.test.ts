import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyOnboarding, prepareOnboarding } from '../../src/lifecycle/onboard.js';
import type { SignedCertificate } from '../../src/offboarding/certificate.js';
import { verifyFileBytes } from '../../src/offboarding/file-signature.js';
import { recordFti } from '../../src/offboarding/log.js';
import { offboard } from '../../src/offboarding/offboard.js';
import { verifyCertificate } from '../../src/offboarding/verify.js';
import { detaileeDoc } from '../helpers/manifest.js';
import { startWorld, type World } from '../helpers/world.js';

/**
 * An offboarding before the end of term, through `offboard` against a real slapd and moto: it
 * revokes now, and the certificate says access ended then (not at the original end of term), in
 * the host's zone with UTC beside it, with each file signed beside it.
 */
let w: World;

beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => {
  await w?.close();
});

describe('offboarding before the end of term', () => {
  it('certifies the revocation time as the end of access, and signs every file it writes', async () => {
    const id = 'early-0001';
    w.clock.set('2025-02-05T15:00:00Z');
    const ctx = w.ctx();
    await applyOnboarding(ctx, await prepareOnboarding(ctx, w.signedManifest(detaileeDoc(id, 'earlybird')), undefined));
    w.clock.set('2025-03-03T16:00:00Z');
    await recordFti(w.ctx(), id, { description: 'TY2021 extract batch 7', type: 'return transcripts', taxYears: [2021], records: 250, media: 'paper', location: 'Bldg 2, Room 114, safe 3', received: '2025-03-03' });

    const answers = join(w.dir, 'early-answers.yaml');
    writeFileSync(
      answers,
      stringify({
        performedBy: { name: 'Grace Hopper', title: 'Records Officer', organization: 'IRS IT', location: 'Bldg 2', phone: '+1 202 555 0100' },
        validatedBy: { name: 'Alan Turing', title: 'CISO', organization: 'IRS', location: 'Bldg 1', phone: '+1 202 555 0199', signedOn: '2025-04-15' },
        dispositions: [
          { entry: 'F-0001', action: 'destroyed', method: 'Destroy', technique: 'cross-cut shred 1x5 mm', tool: { name: 'Intimus 007S', version: '2023' }, date: '2025-04-15', verifiedBy: { name: 'Kim Ray', title: 'Security Specialist' }, verification: 'full', destination: 'recycling facility' },
        ],
        propertyReturned: ['badge'],
        acknowledgement: { signedOn: '2025-04-15' },
      }),
    );
    w.clock.set('2025-04-15T15:00:00Z');
    const r = await offboard(w.ctx(), id, { answersFile: answers });
    expect(r.state).toBe('closed');

    const signed = JSON.parse(readFileSync(r.certificate.files.json, 'utf8')) as SignedCertificate;
    expect(signed.certificate.assignment.term.endsAt).toBe('2025-06-06T00:00:00-04:00');
    expect(signed.certificate.accessEnded).toEqual({ at: '2025-04-15T15:00:00.000Z', reason: 'revoked early' });
    const md = readFileSync(r.certificate.files.markdown, 'utf8');
    expect(md).toContain('| Access ended | 2025-04-15 11:00:00 EDT (America/New\\_York; 2025-04-15 15:00:00 UTC), revoked before the end of term |');
    expect(md).toMatch(/Name: Grace Hopper {2}\nTitle: Records Officer {2}\nDate: 2025-04-15/);
    expect(md).toMatch(/Name: Alan Turing {2}\nTitle: CISO {2}\nDate: 2025-04-15/);

    const pub = createPublicKey(readFileSync(r.certificate.publicKey));
    for (const kind of ['json', 'markdown', 'pdf'] as const) {
      expect(verifyFileBytes(readFileSync(r.certificate.files[kind]), readFileSync(r.certificate.signatures[kind]), pub), kind).toBe(true);
    }
    const check = await verifyCertificate(readFileSync(r.certificate.files.pdf), readFileSync(r.certificate.publicKey, 'utf8'), { signature: readFileSync(r.certificate.signatures.pdf) });
    expect(check).toMatchObject({ format: 'pdf', file: 'as-issued', fileSignature: 'verified' });
  });
});
