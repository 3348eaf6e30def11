import type { CertificateVersion } from './certificate.js';
import { templatePath } from './checklist.js';

/**
 * The faces a certificate is set in, by certificate version. `certificate verify` re-renders a PDF
 * and compares bytes, so a version's fonts and the way text is drawn with them never change once a
 * certificate of that version has been issued.
 * - v1: the full DejaVu Sans fonts, shaped by OpenType (GSUB/GPOS) for every word.
 * - v2: subsets of them for Latin text (scripts/subset-fonts.py: no layout tables, no glyph names),
 *   which the PDF library lays out at glyph advances and embeds cheaply; a text with a character
 *   outside the subset is set, whole, in the full font, shaped as in v1.
 */
export interface Faces {
  /** The document's default font: the key under which the regular face is cached. */
  readonly initial: string;
  /** The font names to register before drawing, with their files. */
  readonly registered: readonly (readonly [name: string, path: string])[];
  regular(text: string): string;
  bold(text: string): string;
}

const full = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' };
const subset = { regular: 'DejaVuSansCertificate.ttf', bold: 'DejaVuSansCertificate-Bold.ttf' };

/**
 * Any character the subsets lack (scripts/subset-fonts.py RANGES, which lists the same ranges), or a
 * line break other than \n. Characters in these ranges that DejaVu Sans itself lacks are missing from
 * both fonts alike, so the choice of font does not matter for them.
 */
const OUTSIDE_SUBSET = /[^\n\u0020-\u007e\u00a0-\u017f\u0192\u0218-\u021b\u02c6\u02c7\u02d8-\u02dd\u2000-\u206f\u20ac\u2116\u2122\u2190-\u2195\u2212]/;

export function inSubset(text: string): boolean {
  return !OUTSIDE_SUBSET.test(text);
}

let v1: Faces | undefined;
let v2: Faces | undefined;

function v1Faces(): Faces {
  // The regular face is selected by its path, the key pdfkit cached it under when the document was
  // created with it. Registering it again under another name looks cheap but is not: pdfkit then
  // re-opens and re-parses the TTF on every switch back to it (it finds the same font by its
  // PostScript name and returns without caching the alias), which made a 50-item PDF take seconds.
  const regular = templatePath('fonts', full.regular);
  return { initial: regular, registered: [['bold', templatePath('fonts', full.bold)]], regular: () => regular, bold: () => 'bold' };
}

function v2Faces(): Faces {
  const regular = templatePath('fonts', subset.regular);
  const fullRegular = templatePath('fonts', full.regular);
  return {
    initial: regular,
    // The full fonts are only opened (and embedded) if some text needs them.
    registered: [
      ['bold', templatePath('fonts', subset.bold)],
      ['bold-full', templatePath('fonts', full.bold)],
    ],
    regular: (text) => (inSubset(text) ? regular : fullRegular),
    bold: (text) => (inSubset(text) ? 'bold' : 'bold-full'),
  };
}

/** Asked for on every text drawn: built once per version, paths joined once. */
export function facesFor(version: CertificateVersion): Faces {
  if (version === 'detailee/certificate/v1') return (v1 ??= v1Faces());
  return (v2 ??= v2Faces());
}
