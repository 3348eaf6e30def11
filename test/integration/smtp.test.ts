import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignmentSchema } from '../../src/assignment/schema.js';
import { computeTerm } from '../../src/assignment/term.js';
import { ActionError } from '../../src/errors.js';
import { composePreExpiryNotice, createSmtpSender, deliverNotice, type NoticeMessage } from '../../src/notify/index.js';
import { manifest, tempDir } from '../helpers/manifest.js';
import { closedPort, startSmtpSink, type SmtpSink } from '../helpers/smtp.js';

const PASSWORD = 'S3cret-relay-Pa55word';
const TERM = computeTerm('2025-02-06', 120, 'America/New_York');
const NOW = new Date('2025-05-30T06:00:00Z');

function notice(): NoticeMessage {
  const m = manifest();
  return composePreExpiryNotice({
    assignment: assignmentSchema.parse({ ...m, detailee: { ...(m.detailee as object), givenName: 'José', familyName: 'Núñez' } }),
    term: TERM,
    notice: { key: `pre-expiry:${TERM.endsAt}:7`, daysBefore: 7, late: false, dueAt: '2025-05-30T00:00:00-04:00' },
    now: NOW,
    from: 'detailee@irs.example.gov',
  });
}

function expectNoPassword(e: unknown): void {
  expect(e).toBeInstanceOf(ActionError);
  const err = e as ActionError;
  expect(err.message).not.toContain(PASSWORD);
  expect(JSON.stringify(err.toJSON())).not.toContain(PASSWORD);
  expect(err.cause).toBeUndefined();
}

describe('SMTP delivery to a real server', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink?.stop();
  });

  it('relays the very bytes written to the outbox, to the three recipients', async () => {
    const outbox = tempDir('detailee-outbox-');
    const smtp = createSmtpSender({ host: sink.host, port: sink.port, secure: false }, undefined);
    try {
      const first = await deliverNotice({ outbox, smtp, message: notice() });
      // A line starting with "." must survive SMTP dot-stuffing; a long one, QP soft breaks.
      const second = await deliverNotice({
        outbox,
        smtp,
        message: { ...notice(), key: 'test:2', subject: 'Second — ünïcödé', text: `.leading dot\n..two dots\n${'y'.repeat(300)}\n.\n` },
      });
      expect([first.smtp, second.smtp]).toEqual(['sent', 'sent']);
      const got = sink.messages();
      expect(got).toHaveLength(2);
      expect(got[0]!.raw.equals(readFileSync(first.file))).toBe(true);
      expect(got[1]!.raw.equals(readFileSync(second.file))).toBe(true);
      expect(got[0]!.from).toBe('detailee@irs.example.gov');
      expect(got[0]!.to).toEqual(['ada.byron@home.example.gov', 'grace.hopper@irs.example.gov', 'alan.turing@irs.example.gov']);
    } finally {
      await smtp.close();
    }
  });

  it('a notice whose relay failed is retried from the file already written: one file, the same bytes relayed', async () => {
    const outbox = tempDir('detailee-outbox-');
    const down = createSmtpSender({ host: '127.0.0.1', port: await closedPort(), secure: false }, undefined);
    let first;
    try {
      first = await deliverNotice({ outbox, smtp: down, message: notice() });
    } finally {
      await down.close();
    }
    expect(first.smtp).toBe('failed');
    const written = readFileSync(first.file);
    // The next night: a later date on the message as composed, the relay back.
    const before = sink.messages().length;
    const up = createSmtpSender({ host: sink.host, port: sink.port, secure: false }, undefined);
    try {
      const retry = await deliverNotice({ outbox, smtp: up, message: { ...notice(), date: new Date('2025-05-31T06:00:00Z') } });
      expect(retry).toMatchObject({ smtp: 'sent', file: first.file });
    } finally {
      await up.close();
    }
    expect(readdirSync(outbox).filter((f) => f.endsWith('.eml'))).toEqual([basename(first.file)]);
    const got = sink.messages().slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.raw.equals(written)).toBe(true);
  });

  it('requires STARTTLS when asked to, and fails rather than send in clear', async () => {
    const smtp = createSmtpSender({ host: sink.host, port: sink.port, secure: false, startTLS: true }, undefined);
    const before = sink.messages().length;
    try {
      await expect(smtp.send({ from: 'detailee@irs.example.gov', to: ['a@b.example'], raw: 'Subject: x\r\n\r\nx\r\n' })).rejects.toThrow(
        `${sink.host}:${sink.port}`,
      );
    } finally {
      await smtp.close();
    }
    expect(sink.messages()).toHaveLength(before);
  });
});

describe('SMTP failures', () => {
  it('SMTP down: an ActionError naming host:port, without the password; the outbox file stays', async () => {
    const port = await closedPort();
    const smtp = createSmtpSender({ host: '127.0.0.1', port, secure: false, username: 'relay-user' }, PASSWORD);
    try {
      const e = await smtp.send({ from: 'detailee@irs.example.gov', to: ['a@b.example'], raw: 'Subject: x\r\n\r\nx\r\n' }).catch((x: unknown) => x);
      expectNoPassword(e);
      expect((e as ActionError).message).toContain(`127.0.0.1:${port}`);
      expect((e as ActionError).exit).toBe(1);

      const outbox = tempDir('detailee-outbox-');
      const r = await deliverNotice({ outbox, smtp, message: notice() });
      expect(r.smtp).toBe('failed');
      expect(r.error).toContain(`127.0.0.1:${port}`);
      expect(r.error).not.toContain(PASSWORD);
      expect(readFileSync(r.file, 'utf8')).toContain('Content-Transfer-Encoding: quoted-printable');
    } finally {
      await smtp.close();
    }
  });

  it('credentials refused: an ActionError naming host:port, without the password', async () => {
    const sink = await startSmtpSink({ authFail: true });
    const smtp = createSmtpSender({ host: sink.host, port: sink.port, secure: false, username: 'relay-user' }, PASSWORD);
    try {
      const e = await smtp.send({ from: 'detailee@irs.example.gov', to: ['a@b.example'], raw: 'Subject: x\r\n\r\nx\r\n' }).catch((x: unknown) => x);
      expectNoPassword(e);
      expect((e as ActionError).message).toContain(`${sink.host}:${sink.port}`);
      expect((e as ActionError).message).toContain('535');
      expect(sink.messages()).toEqual([]);
    } finally {
      await smtp.close();
      await sink.stop();
    }
  });

  it('message refused by the server: reported as failed, file kept', async () => {
    const sink = await startSmtpSink({ reject: true });
    const smtp = createSmtpSender({ host: sink.host, port: sink.port, secure: false }, undefined);
    try {
      const r = await deliverNotice({ outbox: tempDir('detailee-outbox-'), smtp, message: notice() });
      expect(r.smtp).toBe('failed');
      expect(r.error).toMatch(/554/);
      expect(readFileSync(r.file).length).toBeGreaterThan(0);
    } finally {
      await smtp.close();
      await sink.stop();
    }
  });
});
