import { string } from '@oclif/core/flags';

/**
 * What every command shares with the fast start (fast-status.ts), which loads this module without
 * the rest of oclif: the flag every command takes besides oclif's own --json, and the document
 * --json prints. Kept here rather than in base.ts so that the fast start parses with these very
 * definitions instead of a copy of them.
 */
export const baseFlags = {
  config: string({
    description: 'config file (else $DETAILEE_CONFIG, ./detailee.yaml, then the user config dir)',
    helpGroup: 'GLOBAL',
  }),
};

/**
 * The document --json prints: what oclif prints (two-space indent, uncoloured without a JSON
 * theme), without its colouring tokenizer, which builds an object per token, ~4 KB per entry of a
 * nightly report or a status row, for output that is never coloured.
 */
export function jsonDocument(json: unknown): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}
