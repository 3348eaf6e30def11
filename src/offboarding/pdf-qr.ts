type Doc = PDFKit.PDFDocument;

/** The QR code on a certificate, drawn as vector rectangles from the module matrix. */
export interface QrMatrix {
  size: number;
  get(row: number, col: number): number;
}

/** Horizontal runs of dark modules, in module units: fewer drawing operations than one square each. */
export function qrRuns(matrix: QrMatrix): { row: number; col: number; length: number }[] {
  const runs: { row: number; col: number; length: number }[] = [];
  for (let row = 0; row < matrix.size; row++) {
    let col = 0;
    while (col < matrix.size) {
      if (!matrix.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < matrix.size && matrix.get(row, col)) col++;
      runs.push({ row, col: start, length: col - start });
    }
  }
  return runs;
}

/** Vector rectangles on a white quiet zone of four modules, filled in one operation. */
export function drawQr(doc: Doc, matrix: QrMatrix, x: number, y: number, moduleSize: number): void {
  const quiet = 4;
  const total = (matrix.size + 2 * quiet) * moduleSize;
  doc.save().rect(x, y, total, total).fill('white').restore();
  doc.save();
  for (const r of qrRuns(matrix)) {
    doc.rect(x + (quiet + r.col) * moduleSize, y + (quiet + r.row) * moduleSize, r.length * moduleSize, moduleSize);
  }
  doc.fill('black').restore();
}

