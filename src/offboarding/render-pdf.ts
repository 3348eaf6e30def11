import { type SignedCertificate } from './certificate.js';
import { serializeSignedCertificate, verifySignedCertificate } from './certificate-sign.js';
import { facesFor, type Faces } from './pdf-fonts.js';
import { loadPdfModules, type PdfLibraries } from './pdf-libraries.js';
import { drawQr } from './pdf-qr.js';
import { certificateView, type Row } from './view.js';


/**
 * Determinism: the same signed certificate always renders the same bytes, so a PDF can be
 * re-rendered and compared, and tests can pin it. What pdfkit 0.20 would otherwise vary, and how:
 * - Info /CreationDate defaults to `new Date()`: set it (and /ModDate) to the certificate's issuedAt.
 * - The trailer /ID is an MD5 of the Info dictionary (PDFSecurity.generateFileID), so fixing Info fixes it.
 * - Embedded-file /Params dates come from the file's stat() when given a path: we pass a Buffer and
 *   set creationDate/modifiedDate to issuedAt.
 * - Font subset tags (ABCDEF+DejaVuSans) derive from the font's resource id (F1, F2), a counter
 *   advanced in the order fonts are first used, and the fonts come from templates/fonts, not the
 *   machine, so glyph data does not vary either. Which fonts a version uses: pdf-fonts.ts.
 * - Randomness in pdfkit is used only for encryption, which we do not use.
 * - The QR code is drawn as vector rectangles from the module matrix: no raster encoder involved.
 */

const PAGE = { width: 612, height: 792 }; // US Letter, as federal forms are
const MARGIN = 54;
const LABEL_WIDTH = 170;
const GAP = 10;
const BODY = 9;
const HAIRLINE = '#b0b0b0';
/** Room above a signature line for a hand signature. */
const SIGNING_SPACE = 30;
/** A signature block: its heading, the signing space and line, and three rows, with room to spare. */
const SIGNATURE_BLOCK = 130;

type Doc = PDFKit.PDFDocument;

/**
 * pdfkit copies Title, Author, Subject and Keywords into the XMP metadata stream without XML
 * escaping, so a name like "R&D <Ops>" would make that stream malformed XML. Info values are
 * descriptive only (the attached JSON is what counts), so the markup characters are replaced.
 */
export function infoText(value: string): string {
  return value.replace(/&/g, '+').replace(/[<>]/g, '');
}

/** Characters at which a line may break or glyphs may interact across a break: all but ASCII letters, digits and spaces. */
const MAY_BREAK = /[^A-Za-z0-9 ]/g;

class Layout {
  /**
   * Lines per (font, size, width, text): the certificate repeats labels and values on every item.
   * `direct`: known to fit one line without wrapping it (fitsOneLine), not merely measured as one.
   */
  private readonly lineCounts = new Map<string, { lines: number; direct: boolean }>();

  /** Hairlines under rows drawn on this page but not yet stroked (compact layout): their y and width. */
  private readonly hairlines: { y: number; width: number }[] = [];

  /**
   * @param compact v2 on: a row cell known to fit one line is drawn as that line, without pdfkit's
   * line wrapper, and a page's hairlines are stroked as one path. The page looks the same with
   * fewer drawing operations (each is converted and buffered on its own); v1 keeps drawing the
   * old way, so its bytes do not move.
   */
  constructor(
    private readonly doc: Doc,
    readonly faces: Faces,
    private readonly compact: boolean,
  ) {}

  /**
   * What doc.heightOfString would return, without wrapping the text a second time (it is wrapped
   * again when drawn, and a cold process pays for every wrap). The height is summed line by line
   * from the current y exactly as heightOfString sums it, so the result is the same number to the
   * bit and old certificates re-render to the same bytes. A text is taken to be one line only
   * when its width leaves room for more kerning than the breaks inside it could undo; otherwise,
   * and for multi-line texts, pdfkit measures it once and the line count is remembered.
   */
  heightOf(text: string, width: number, font: string, size: number): number {
    return this.measure(text, width, font, size).height;
  }

  private measure(text: string, width: number, font: string, size: number): { height: number; direct: boolean } {
    const key = `${font}\u0000${size}\u0000${width}\u0000${text}`;
    let known = this.lineCounts.get(key);
    if (known === undefined) {
      if (this.fitsOneLine(text, width, size)) known = { lines: 1, direct: true };
      else {
        const h = this.doc.heightOfString(text, { width });
        this.lineCounts.set(key, { lines: Math.round(h / this.lineStep()), direct: false });
        return { height: h, direct: false };
      }
      this.lineCounts.set(key, known);
    }
    const step = this.lineStep();
    let y = this.doc.y;
    for (let i = 0; i < known.lines; i++) y += step;
    return { height: y - this.doc.y, direct: known.direct };
  }

  /** heightOfString adds the line gap too; this document never sets one. */
  private lineStep(): number {
    return this.doc.currentLineHeight(true);
  }

  private fitsOneLine(text: string, width: number, size: number): boolean {
    if (text.length === 0 || /[\n\r\v\f\u0085\u2028\u2029\u00ad]/.test(text)) return false;
    // A quarter of an em per possible break is far more than any kerning pair in the font.
    const slack = ((text.match(MAY_BREAK)?.length ?? 0) + 1) * size * 0.25;
    return this.doc.widthOfString(text) + slack <= width;
  }

  get contentWidth(): number {
    return PAGE.width - 2 * MARGIN;
  }

  private get bottom(): number {
    return PAGE.height - MARGIN - 18; // room for the footer
  }

  ensure(height: number): void {
    if (this.doc.y + height > this.bottom) {
      this.strokeHairlines();
      this.doc.addPage();
    }
  }

  strokeHairlines(): void {
    if (this.hairlines.length === 0) return;
    this.doc.save().lineWidth(0.3).strokeColor(HAIRLINE);
    for (const { y, width } of this.hairlines) this.doc.moveTo(MARGIN, y).lineTo(MARGIN + width, y);
    this.doc.stroke().restore();
    this.hairlines.length = 0;
  }

  title(text: string): void {
    this.doc.font(this.faces.bold(text)).fontSize(16).text(text, MARGIN, this.doc.y, { width: this.contentWidth });
    this.doc.moveDown(0.4);
  }

  heading(text: string): void {
    this.ensure(40);
    this.doc.moveDown(0.6);
    this.doc.font(this.faces.bold(text)).fontSize(12).fillColor('#1f3a5f').text(text, MARGIN, this.doc.y, { width: this.contentWidth });
    this.doc.fillColor('black').moveDown(0.25);
  }

  subheading(text: string): void {
    // Keep a heading with at least its first rows.
    this.ensure(60);
    this.doc.moveDown(0.3);
    this.doc.font(this.faces.bold(text)).fontSize(10).text(text, MARGIN, this.doc.y, { width: this.contentWidth });
    this.doc.moveDown(0.15);
  }

  paragraph(text: string, width = this.contentWidth): void {
    const font = this.faces.regular(text);
    this.doc.font(font).fontSize(BODY);
    this.ensure(this.heightOf(text, width, font, BODY));
    this.doc.text(text, MARGIN, this.doc.y, { width });
    this.doc.moveDown(0.3);
  }

  /** Label/value rows with a hairline under each: a table that breaks across pages by row. */
  rows(rows: readonly Row[], width = this.contentWidth): void {
    const valueWidth = width - LABEL_WIDTH - GAP;
    for (const row of rows) {
      const labelFont = this.faces.bold(row.label);
      const valueFont = this.faces.regular(row.value);
      this.doc.font(labelFont).fontSize(BODY);
      const label = this.measure(row.label, LABEL_WIDTH, labelFont, BODY);
      this.doc.font(valueFont).fontSize(BODY);
      const value = this.measure(row.value, valueWidth, valueFont, BODY);
      const h = Math.max(label.height, value.height);
      this.ensure(h + 4);
      const y = this.doc.y;
      this.doc.font(labelFont).fontSize(BODY);
      this.cell(row.label, MARGIN, y, LABEL_WIDTH, label.direct);
      this.doc.font(valueFont).fontSize(BODY);
      this.cell(row.value, MARGIN + LABEL_WIDTH + GAP, y, valueWidth, value.direct);
      const below = y + h + 2;
      if (this.compact) this.hairlines.push({ y: below, width });
      else this.doc.save().lineWidth(0.3).strokeColor(HAIRLINE).moveTo(MARGIN, below).lineTo(MARGIN + width, below).stroke().restore();
      this.doc.x = MARGIN;
      this.doc.y = below + 2;
    }
  }

  /** A line to sign on by hand, as on the SP 800-88 form, with the signer's name, title and date under it. */
  signatureLine(s: { role: string; name: string; title: string; date: string }): void {
    // The whole block on one page: a signature line apart from the name it is for means nothing.
    this.ensure(SIGNATURE_BLOCK);
    this.subheading(s.role);
    const y = this.doc.y + SIGNING_SPACE;
    this.strokeHairlines();
    this.doc.save().lineWidth(0.6).strokeColor('black').moveTo(MARGIN, y).lineTo(MARGIN + LABEL_WIDTH + GAP + 200, y).stroke().restore();
    this.doc.font(this.faces.regular('Signature')).fontSize(7).fillColor('#555555').text('Signature', MARGIN, y + 2, { lineBreak: false });
    this.doc.fillColor('black');
    this.doc.x = MARGIN;
    this.doc.y = y + 14;
    this.rows([
      { label: 'Name', value: s.name },
      { label: 'Title', value: s.title },
      { label: 'Date', value: s.date },
    ]);
  }

  /** One text() call per cell; the caller sets x and y afterwards, so neither call's cursor moves matter. */
  private cell(text: string, x: number, y: number, width: number, oneLine: boolean): void {
    if (this.compact && oneLine) this.doc.text(text, x, y, { lineBreak: false });
    else this.doc.text(text, x, y, { width });
  }
}

/**
 * The certificate as a PDF with the signed JSON attached; refuses a certificate that does not verify.
 * `libraries`: the bundle's or the packages' (a test renders with both); by default loadPdfModules'.
 */
export async function renderPdf(signed: SignedCertificate, libraries?: PdfLibraries): Promise<Buffer> {
  await verifySignedCertificate(signed);
  const { PDFDocument, createQr } = libraries ?? (await loadPdfModules());
  const view = certificateView(signed);
  const c = signed.certificate;
  const at = new Date(c.issuedAt);
  if (Number.isNaN(at.getTime())) throw new TypeError(`issuedAt is not an instant: ${c.issuedAt}`);

  const faces = facesFor(c.certificateVersion);
  const doc = new PDFDocument({
    size: 'LETTER',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    compress: true,
    bufferPages: true,
    pdfVersion: '1.7',
    lang: 'en-US',
    displayTitle: true,
    font: faces.initial,
    info: {
      Title: infoText(`${view.title} ${c.id}`),
      Author: infoText(c.issuer),
      Subject: infoText(`${view.detaileeName}, assignment ${c.assignment.id}`),
      Keywords: infoText(`detailee certificate ${c.id} sha256:${signed.hash}`),
      Creator: 'detailee',
      Producer: 'detailee (PDFKit)',
      CreationDate: at,
      ModDate: at,
    },
  });
  for (const [name, path] of faces.registered) doc.registerFont(name, path);

  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const v1 = c.certificateVersion === 'detailee/certificate/v1';
  const L = new Layout(doc, faces, !v1);
  L.title(view.title);
  L.rows([
    { label: 'Certificate', value: view.id },
    { label: 'Detailee', value: view.detaileeName },
    { label: 'Issued', value: `${view.issuedAt} by ${view.issuer}` },
  ]);

  L.heading('Parties');
  L.rows(view.parties);

  L.heading('Person performing the return or destruction');
  L.rows(view.performedBy);

  L.heading('Media and disposition (NIST SP 800-88)');
  for (const m of view.media) {
    L.subheading(m.heading);
    L.rows(m.rows);
  }

  L.heading('FTI log (references only; never the information itself)');
  for (const e of view.ftiLog) {
    L.subheading(`${e.id}: ${e.description}`);
    L.rows([
      { label: 'Type', value: e.type },
      { label: 'Tax years', value: e.taxYears },
      { label: 'Records', value: e.records },
      { label: 'Media', value: e.media },
      { label: 'Received', value: e.received },
      { label: 'Location', value: e.location },
      { label: 'Disposition', value: e.disposition },
    ]);
  }

  L.heading('Access revoked');
  L.paragraph(`Revoked at ${view.revocation.revokedAt}; each target was read back after revocation.`);
  L.rows(
    view.revocation.targets.map((t) => ({
      label: t.target,
      value: [`verified ${t.verifiedAt}`, ...t.evidence.map((e) => `• ${e}`)].join('\n'),
    })),
  );
  if (view.revocation.hasProof) {
    L.paragraph('Proof of revocation, one line per target:');
    L.rows(view.revocation.proof.map((p) => ({ label: p.target, value: p.summary })));
  }

  L.heading('Property returned');
  L.paragraph(view.hasPropertyReturned ? view.propertyReturned.join(', ') : 'None recorded.');

  L.heading(`Acknowledgement (${view.acknowledgement.controls})`);
  L.paragraph(view.acknowledgement.statement);
  L.rows([
    { label: 'Signed by', value: view.acknowledgement.signedBy },
    { label: 'Signed on', value: view.acknowledgement.signedOn },
  ]);

  L.heading('Validating official');
  L.rows(view.validatedBy);

  if (view.hasSignatureLines) {
    L.heading('Signatures (NIST SP 800-88, Appendix G)');
    for (const line of view.signatureLines) L.signatureLine(line);
  }

  L.heading('Audit chain head');
  L.rows(view.auditHead);

  L.strokeHairlines();
  // v2 fixes the mask: any of the eight decodes alike, and scoring all eight to pick the best one
  // was most of the symbol's cost in a cold process. v1 keeps the chosen one, as it was issued.
  const qr = createQr(view.qrText, v1 ? { errorCorrectionLevel: 'M' } : { errorCorrectionLevel: 'M', maskPattern: 0 });
  const moduleSize = 2;
  const qrSide = (qr.modules.size + 8) * moduleSize;
  L.heading('Signature');
  L.ensure(qrSide + 20);
  const top = doc.y;
  L.rows(view.signature, L.contentWidth - qrSide - GAP);
  drawQr(doc, qr.modules, MARGIN + L.contentWidth - qrSide, top, moduleSize);
  doc.y = Math.max(doc.y, top + qrSide) + 6;
  L.paragraph(`The signed certificate is attached to this PDF as ${c.id}.json; it, not this rendering, is what verification checks. QR: ${view.qrText}`);

  doc.file(Buffer.from(serializeSignedCertificate(signed), 'utf8'), {
    name: `${c.id}.json`,
    type: 'application/json',
    description: `Signed certificate ${c.id} (sha256 ${signed.hash})`,
    creationDate: at,
    modifiedDate: at,
    relationship: 'Source',
  } as PDFKit.Mixins.PDFAttachmentOptions);

  L.strokeHairlines();
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Writing into the bottom margin would otherwise make pdfkit start a new page.
    doc.page.margins.bottom = 0;
    const footer = `${c.id} · page ${i + 1} of ${range.count}`;
    doc
      .font(faces.regular(footer))
      .fontSize(7)
      .fillColor('#555555')
      .text(footer, MARGIN, PAGE.height - MARGIN + 10, { width: L.contentWidth, align: 'center', lineBreak: false });
    doc.fillColor('black');
  }
  doc.end();
  return done;
}
