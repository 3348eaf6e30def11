import Mustache from 'mustache';
import { InputError } from '../errors.js';
import { readTextFile } from '../text-file.js';
import { type SignedCertificate } from './certificate.js';
import { verifySignedCertificate } from './certificate-sign.js';
import { templatePath } from './checklist.js';
import { certificateView } from './view.js';

export function certificateTemplatePath(): string {
  return templatePath('certificate.md.mustache');
}

/**
 * Escaping decision: Mustache's HTML escaping would print `&amp;` in a plain-text file and still
 * let `|`, `*` or `[x](…)` in a description reshape the document. So `{{x}}` is rerouted to this
 * Markdown escape instead: CommonMark lets a backslash escape any ASCII punctuation, newlines
 * would break table rows and are folded, and line-start markers (`-`, `+`, `1.`) are escaped
 * because values follow list bullets in the template.
 */
export function escapeMarkdown(value: unknown): string {
  const s = String(value).replace(/\r\n?|\n/g, ' ');
  return s
    .replace(/[\\`*_[\]<>|~&#!{}]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([-+=])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/** The Markdown rendering of a signed certificate; refuses one that does not verify. */
export async function renderMarkdown(signed: SignedCertificate, templateText?: string): Promise<string> {
  await verifySignedCertificate(signed);
  const template = templateText ?? readTextFile(certificateTemplatePath(), 'certificate template').text;
  try {
    Mustache.parse(template);
  } catch (e) {
    throw new InputError(`The certificate template cannot be parsed: ${(e as Error).message}`, {
      code: 'template.invalid',
      actions: ['Fix the Mustache syntax of the template (unclosed sections or tags).'],
    });
  }
  // No partials are passed: a template can include nothing beyond itself.
  return Mustache.render(template, certificateView(signed), {}, { escape: escapeMarkdown });
}
