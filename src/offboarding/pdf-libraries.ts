import { existsSync } from 'node:fs';
import type PDFDocumentClass from 'pdfkit';
import type { create as createQrCode } from 'qrcode';

/** What renderPdf takes from pdfkit and qrcode. */
export interface PdfLibraries {
  PDFDocument: typeof PDFDocumentClass;
  createQr: typeof createQrCode;
}

/**
 * The build bundles these libraries into dist/vendor/pdf.js (scripts/bundle.mjs): resolving and
 * compiling their few dozen packages one by one was most of a fresh certificate's cost. Running
 * from src/ (the tests) there is no bundle, and the packages are loaded themselves; both are the
 * same code, so a certificate renders to the same bytes either way (a test compares them).
 */
const VENDOR_BUNDLE = new URL('../../vendor/pdf.js', import.meta.url);

async function importPdfLibraries(): Promise<PdfLibraries> {
  if (existsSync(VENDOR_BUNDLE)) return (await import(VENDOR_BUNDLE.href)) as PdfLibraries;
  const [{ default: PDFDocument }, { create }] = await Promise.all([import('pdfkit'), import('qrcode')]);
  return { PDFDocument, createQr: create };
}

let pdfLibraries: Promise<PdfLibraries> | undefined;

/**
 * pdfkit and qrcode, loaded once. Offboarding starts this before it waits on the targets and the
 * store, so in the CLI the module loading overlaps that wait instead of following it.
 */
export function loadPdfModules(): Promise<PdfLibraries> {
  pdfLibraries ??= importPdfLibraries();
  return pdfLibraries;
}

