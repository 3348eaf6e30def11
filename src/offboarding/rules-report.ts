import type { SanitizationMethod } from './answers.js';
import type { Media } from './fti.js';
import { rulesFor, rulesTable, type Attestation, type LegacySpelling, type RulesTable } from './sanitization.js';
// ── The table as `detailee rules` shows it ─────────────────────────────────────────────────────

interface RulesReportRule {
  technique: string;
  method: SanitizationMethod;
  particleSizeMax?: string;
  screenSizeMax?: string;
  attest: Attestation[];
  note?: string;
  source: string;
}

/** What `detailee rules --json` prints: a public shape, pinned by test/cli/rules.test.ts. */
export interface RulesReport {
  file: string;
  /** Every accepted value, whatever `--media` shows: what an answers file or a flag may say. */
  vocabulary: { media: Media[]; methods: SanitizationMethod[]; techniques: string[]; units: string[] };
  sources: Record<string, string>;
  methods: RulesTable['methods'];
  techniques: RulesTable['techniques'];
  media: { id: Media; label: string; source: string; accepted: RulesReportRule[]; never: { technique: string; why: string; source: string }[] }[];
  legacy: LegacySpelling[];
}

export function rulesReport(table: RulesTable = rulesTable(), only?: Media): RulesReport {
  return {
    file: 'templates/rules/sanitization.yaml',
    vocabulary: {
      media: table.media.map((m) => m.id),
      methods: table.methods.map((m) => m.id),
      techniques: table.techniques.map((t) => t.id),
      units: Object.keys(table.units),
    },
    sources: table.sources,
    methods: table.methods,
    techniques: table.techniques,
    media: table.media
      .filter((m) => only === undefined || m.id === only)
      .map((m) => ({
        id: m.id,
        label: m.label,
        source: m.source,
        accepted: rulesFor(m.id, table).map((r) => {
          const row: RulesReportRule = { technique: r.technique, method: r.method, attest: r.attest, source: r.source };
          if (r.particleMaxText !== undefined) row.particleSizeMax = r.particleMaxText;
          if (r.screenMaxText !== undefined) row.screenSizeMax = r.screenMaxText;
          if (r.note !== undefined) row.note = r.note;
          return row;
        }),
        never: table.never.filter((n) => n.media.includes(m.id)).map((n) => ({ technique: n.technique, why: n.why, source: n.source })),
      })),
    legacy: table.legacy,
  };
}

function requirement(r: RulesReportRule): string {
  const parts: string[] = [];
  if (r.particleSizeMax !== undefined) parts.push(`particleSize ${r.particleSizeMax} or finer`);
  if (r.screenSizeMax !== undefined) parts.push(`screenSize ${r.screenSizeMax} or finer`);
  for (const a of r.attest) parts.push(`${a}: true`);
  if (r.note !== undefined) parts.push(r.note);
  return parts.length === 0 ? '-' : parts.join('; ');
}

/** Plain text: the accepted values first (what an answers file may say), then where they come from. */
export function renderRulesReport(report: RulesReport, table: (headers: string[], rows: string[][]) => string): string {
  const out: string[] = [`Sanitisation rules (${report.file}). Only the pairs listed are accepted; anything else is refused.`, ''];
  for (const m of report.media) {
    out.push(`${m.id}: ${m.label} (${m.source})`);
    out.push(
      table(
        ['METHOD', 'TECHNIQUE', 'REQUIRES', 'SOURCE'],
        m.accepted.map((r) => [r.method, r.technique, requirement(r), r.source]),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    for (const n of m.never) out.push(`  never ${n.technique}: ${n.why} (${n.source})`);
    out.push('');
  }
  out.push('Methods (SP 800-88) and the destinations open to each:');
  for (const m of report.methods) out.push(`  ${m.id}: ${m.description}; destinations: ${m.destinations.join(', ')}${m.why ? ` (${m.why})` : ''} [${m.source}]`);
  out.push('');
  out.push(`Media: ${report.vocabulary.media.join(', ')}`);
  out.push(`Methods: ${report.vocabulary.methods.join(', ')}`);
  out.push(`Techniques: ${report.vocabulary.techniques.join(', ')}`);
  out.push(`Size units: ${report.vocabulary.units.join(', ')} (e.g. particleSize: "1 mm x 5 mm", screenSize: "3/32 in")`);
  out.push('');
  out.push('Spellings of earlier answers files read as terms (exactly as written; any other text is refused):');
  for (const l of report.legacy) {
    const size = l.particleSize !== undefined ? `, particleSize ${l.particleSize}` : l.screenSize !== undefined ? `, screenSize ${l.screenSize}` : '';
    out.push(`  ${JSON.stringify(l.spelling)} -> ${l.technique}${size}`);
  }
  out.push('');
  out.push('Sources:');
  for (const [k, v] of Object.entries(report.sources)) out.push(`  ${k}: ${v}`);
  return out.join('\n');
}
