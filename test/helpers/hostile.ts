import { constants, deflateRawSync } from 'node:zlib';

/**
 * A zlib stream that inflates to `mib` MiB of zeros from about 1 KiB per MiB: one full-flushed
 * (byte-aligned, dictionary reset) raw block of 1 MiB, repeated. Building it costs nothing like
 * inflating it would, so a gigabyte bomb is cheap to make and must be cheap to refuse.
 */
export function zlibBomb(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: constants.Z_FULL_FLUSH, level: 9 });
  const last = deflateRawSync(Buffer.alloc(0));
  // The Adler-32 trailer is never reached: inflation stops at the limit long before.
  return Buffer.concat([Buffer.from([0x78, 0xda]), ...Array.from({ length: mib }, () => block), last, Buffer.alloc(4)]);
}

/** The smallest PDF the extractor reads: one embedded-file stream per `streams` entry. */
export function pdfWith(streams: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n')];
  streams.forEach((data, i) => {
    parts.push(Buffer.from(`${i + 1} 0 obj\n<< /Type /EmbeddedFile /Subtype /application#2Fjson /Filter /FlateDecode /Length ${data.length} >>\nstream\n`, 'latin1'));
    parts.push(data, Buffer.from('\nendstream\nendobj\n', 'latin1'));
  });
  parts.push(Buffer.from('%%EOF\n'));
  return Buffer.concat(parts);
}

