import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { signaturePath } from './file-signature.js';

/** The files `detailee offboard` writes for a certificate (certificateFileName), each with FILE.sig beside it. */
export interface IssuedFiles {
  json: string;
  markdown: string;
  pdf: string;
}

export const ISSUED_KINDS = ['json', 'markdown', 'pdf'] as const;

export function issuedFiles(outputDir: string, certificateId: string): IssuedFiles {
  return { json: join(outputDir, `${certificateId}.json`), markdown: join(outputDir, `${certificateId}.md`), pdf: join(outputDir, `${certificateId}.pdf`) };
}

/** Those of the files, and of the .sig beside each, that are not there, in file order. */
export function missingFiles(files: IssuedFiles): string[] {
  return ISSUED_KINDS.flatMap((k) => [files[k], signaturePath(files[k])]).filter((f) => !existsSync(f));
}
