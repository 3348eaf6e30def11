export { dueNotices, preExpiryKey, thresholdStart, PRE_EXPIRY, type DueNotice, type DueNoticesInput } from './due.js';
export {
  renderNotice,
  preExpiryData,
  noticeRecipients,
  defaultNoticeTemplatesDir,
  NOTICE_KINDS,
  NOTICE_FIELDS,
  type NoticeKind,
  type NoticeData,
  type RenderedNotice,
} from './render.js';
export { buildEml, messageIdFor, rfc5322Date, headerLine, quotedPrintable, type EmlInput } from './eml.js';
export { writeOutbox, outboxFileName, safeFileName } from './outbox.js';
export { createSmtpSender, type SmtpConfig, type SmtpSender, type SmtpOptions } from './smtp.js';
export { deliverNotice, composePreExpiryNotice, defaultFromAddress, type NoticeMessage, type DeliveryResult } from './deliver.js';
