import { z } from 'zod';
import { DetaileeError, ExitCode } from '../errors.js';
import { parseYamlOrJson, validate } from '../validation.js';
import { readTextFile } from '../text-file.js';
import { DESTINATIONS, SANITIZATION_METHODS, type Destination, type SanitizationMethod } from './answers.js';
import { templatePath } from './checklist.js';
import { MEDIA, type Media } from './fti.js';
import { fmt, notLonger, parseParticleSize, parseScreenSize, particleWithin, type Length } from './measure.js';

/**
 * The sanitisation rules as a closed vocabulary: which technique is valid for which medium, as
 * which SP 800-88 method, with which size or attestation. The table is data
 * (templates/rules/sanitization.yaml, each row cited); this module reads it and judges one
 * disposition against it. Nothing here reads words out of free text: a technique is a term of
 * the vocabulary (or one of a fixed list of legacy spellings), and a size is parsed whole, with
 * its unit, or refused.
 */

const ATTESTATIONS = ['encryptedFromStart', 'keyCopiesDestroyed'] as const;
export type Attestation = (typeof ATTESTATIONS)[number];

const ATTESTATION_TEXT: Record<Attestation, string> = {
  encryptedFromStart: 'the data was encrypted from the start',
  keyCopiesDestroyed: 'every copy of the key is destroyed',
};

const text = z.string().trim().min(1);
const id = z.string().regex(/^[a-z][a-z0-9-]*$/, { error: 'must be a lowercase term (letters, digits, hyphens)' });

const tableSchema = z.strictObject({
  apiVersion: z.literal('detailee/v1'),
  kind: z.literal('SanitizationRules'),
  sources: z.record(z.string(), text),
  units: z.record(z.string().regex(/^[a-z]+$/), z.number().positive()),
  methods: z.array(z.strictObject({ id: z.enum(SANITIZATION_METHODS), description: text, destinations: z.array(z.enum(DESTINATIONS)).min(1), why: text.optional(), source: text })),
  media: z.array(z.strictObject({ id: z.enum(MEDIA), label: text, source: text })),
  techniques: z.array(z.strictObject({ id, label: text })).min(1),
  rules: z
    .array(
      z.strictObject({
        media: z.enum(MEDIA),
        technique: id,
        method: z.enum(SANITIZATION_METHODS),
        particleSize: z.strictObject({ max: text }).optional(),
        screenSize: z.strictObject({ max: text }).optional(),
        attest: z.array(z.enum(ATTESTATIONS)).optional(),
        note: text.optional(),
        source: text,
      }),
    )
    .min(1),
  never: z.array(z.strictObject({ media: z.array(z.enum(MEDIA)).min(1), technique: id, why: text, source: text })),
  legacy: z.array(z.strictObject({ spelling: text, technique: id, particleSize: text.optional(), screenSize: text.optional() })),
});

type RawTable = z.output<typeof tableSchema>;

export interface Rule {
  media: Media;
  technique: string;
  method: SanitizationMethod;
  /** The coarsest particle accepted, in mm, smaller side first. */
  particleMax?: [Length, Length];
  particleMaxText?: string;
  screenMax?: Length;
  screenMaxText?: string;
  attest: Attestation[];
  note?: string;
  source: string;
}

export interface LegacySpelling {
  spelling: string;
  technique: string;
  particleSize?: string;
  screenSize?: string;
}

export interface RulesTable {
  sources: Record<string, string>;
  /** Unit spelling → millimetres per unit. */
  units: Record<string, number>;
  methods: { id: SanitizationMethod; description: string; destinations: Destination[]; why?: string; source: string }[];
  media: { id: Media; label: string; source: string }[];
  techniques: { id: string; label: string }[];
  rules: Rule[];
  never: { media: Media[]; technique: string; why: string; source: string }[];
  legacy: LegacySpelling[];
}

export function rulesTablePath(): string {
  return templatePath('rules', 'sanitization.yaml');
}

function broken(path: string, problems: string[]): DetaileeError {
  return new DetaileeError(`The sanitisation rules table ${path} is inconsistent:\n${problems.map((p) => `  - ${p}`).join('\n')}`, ExitCode.actionFailed, 'tool', {
    code: 'rules.table',
    actions: ['Restore templates/rules/sanitization.yaml from the release; detailee refuses to judge destruction against a broken table.'],
  });
}

/**
 * Check the table against itself and against the closed lists the code is typed by, so that a
 * bad edit stops every judgement rather than letting an unlisted pair through.
 */
export function buildRulesTable(raw: unknown, path = rulesTablePath()): RulesTable {
  let t: RawTable;
  try {
    t = validate(tableSchema, raw, `The sanitisation rules table ${path}`, 'rules.table');
  } catch (e) {
    throw broken(path, [(e as Error).message]);
  }
  const problems: string[] = [];
  const sameSet = (what: string, got: readonly string[], want: readonly string[]) => {
    const g = [...got].sort().join(', ');
    const w = [...want].sort().join(', ');
    if (g !== w || new Set(got).size !== got.length) problems.push(`${what} must be exactly ${w} (once each), got ${g}`);
  };
  sameSet('media', t.media.map((m) => m.id), MEDIA);
  sameSet('methods', t.methods.map((m) => m.id), SANITIZATION_METHODS);
  const techniques = new Set(t.techniques.map((x) => x.id));
  if (techniques.size !== t.techniques.length) problems.push('techniques: an id is listed twice');

  const units = t.units;
  for (const [u, f] of Object.entries(units)) if (!/^\d+(\.\d+)?$/.test(String(f))) problems.push(`units.${u}: ${f} mm must be a plain decimal`);
  const rules: Rule[] = [];
  const pairs = new Set<string>();
  t.rules.forEach((r, i) => {
    const where = `rules[${i}] (${r.media}, ${r.technique})`;
    if (!techniques.has(r.technique)) problems.push(`${where}: technique ${r.technique} is not in techniques`);
    const key = `${r.media}\u0000${r.technique}`;
    if (pairs.has(key)) problems.push(`${where}: the pair is listed twice`);
    pairs.add(key);
    const rule: Rule = { media: r.media, technique: r.technique, method: r.method, attest: r.attest ?? [], source: r.source };
    if (r.note !== undefined) rule.note = r.note;
    if (r.particleSize) {
      const p = parseParticleSize(r.particleSize.max, units);
      if (p.ok) [rule.particleMax, rule.particleMaxText] = [p.value, r.particleSize.max];
      else problems.push(`${where}: particleSize.max ${p.problem}`);
    }
    if (r.screenSize) {
      const s = parseScreenSize(r.screenSize.max, units);
      if (s.ok) [rule.screenMax, rule.screenMaxText] = [s.value, r.screenSize.max];
      else problems.push(`${where}: screenSize.max ${s.problem}`);
    }
    if (r.particleSize && r.screenSize) problems.push(`${where}: a technique takes a particle size or a screen size, not both`);
    rules.push(rule);
  });
  for (const m of MEDIA) if (!rules.some((r) => r.media === m)) problems.push(`media ${m} has no rule: nothing could ever be destroyed on it`);
  t.never.forEach((n, i) => {
    if (!techniques.has(n.technique)) problems.push(`never[${i}]: technique ${n.technique} is not in techniques`);
    for (const m of n.media) if (pairs.has(`${m}\u0000${n.technique}`)) problems.push(`never[${i}]: (${m}, ${n.technique}) is also listed as valid`);
  });
  const spellings = new Set<string>();
  t.legacy.forEach((l, i) => {
    if (!techniques.has(l.technique)) problems.push(`legacy[${i}]: technique ${l.technique} is not in techniques`);
    if (techniques.has(l.spelling)) problems.push(`legacy[${i}]: "${l.spelling}" is already a term`);
    if (spellings.has(l.spelling)) problems.push(`legacy[${i}]: "${l.spelling}" is listed twice`);
    spellings.add(l.spelling);
    if (l.particleSize !== undefined && !parseParticleSize(l.particleSize, units).ok) problems.push(`legacy[${i}]: particleSize does not parse`);
    if (l.screenSize !== undefined && !parseScreenSize(l.screenSize, units).ok) problems.push(`legacy[${i}]: screenSize does not parse`);
  });
  if (problems.length > 0) throw broken(path, problems);

  return {
    sources: t.sources,
    units,
    methods: t.methods.map((m) => ({ id: m.id, description: m.description, destinations: m.destinations, source: m.source, ...(m.why === undefined ? {} : { why: m.why }) })),
    media: t.media,
    techniques: t.techniques,
    rules,
    never: t.never,
    legacy: t.legacy.map((l) => ({
      spelling: l.spelling,
      technique: l.technique,
      ...(l.particleSize === undefined ? {} : { particleSize: l.particleSize }),
      ...(l.screenSize === undefined ? {} : { screenSize: l.screenSize }),
    })),
  };
}

function loadRulesTable(path: string = rulesTablePath()): RulesTable {
  const { text: body } = readTextFile(path, 'sanitisation rules table');
  return buildRulesTable(parseYamlOrJson(body, `sanitisation rules table ${path}`), path);
}

let cached: RulesTable | undefined;

/** The packaged table, read once per process. */
export function rulesTable(): RulesTable {
  cached ??= loadRulesTable();
  return cached;
}

// ── Vocabulary ─────────────────────────────────────────────────────────────────────────────────

export interface ResolvedTechnique {
  technique: string;
  /** The exact legacy spelling it was read from, when it was one. */
  legacy?: LegacySpelling;
}

/** A term of the vocabulary, or exactly one of the legacy spellings; anything else is undefined. */
export function resolveTechnique(written: string, table: RulesTable = rulesTable()): ResolvedTechnique | undefined {
  const t = written.trim();
  if (table.techniques.some((x) => x.id === t)) return { technique: t };
  const legacy = table.legacy.find((l) => l.spelling === t);
  return legacy ? { technique: legacy.technique, legacy } : undefined;
}

export function rulesFor(media: Media, table: RulesTable = rulesTable()): Rule[] {
  return table.rules.filter((r) => r.media === media);
}

export function findRule(media: Media, technique: string, table: RulesTable = rulesTable()): Rule | undefined {
  return table.rules.find((r) => r.media === media && r.technique === technique);
}

/** The methods some rule offers for a medium, in SP 800-88 order. */
export function methodsForMedia(media: Media, table: RulesTable = rulesTable()): SanitizationMethod[] {
  const rules = rulesFor(media, table);
  return SANITIZATION_METHODS.filter((m) => rules.some((r) => r.method === m));
}

export function techniquesFor(media: Media, method: SanitizationMethod, table: RulesTable = rulesTable()): Rule[] {
  return rulesFor(media, table).filter((r) => r.method === method);
}

/** "overwrite (Clear), crypto-erase (Purge), shred (Destroy)" */
function acceptedFor(media: Media, table: RulesTable = rulesTable()): string {
  return rulesFor(media, table)
    .map((r) => `${r.technique} (${r.method})`)
    .join(', ');
}

function quote(written: string): string {
  const t = written.trim();
  return JSON.stringify(t.length > 60 ? `${t.slice(0, 57)}...` : t);
}

/** What one destruction records, as far as the rules read it. Free text (details, tool) is not here. */
export interface Treatment {
  media: Media;
  method: SanitizationMethod;
  technique: string;
  particleSize?: string | undefined;
  screenSize?: string | undefined;
  encryptedFromStart?: boolean | undefined;
  keyCopiesDestroyed?: boolean | undefined;
  destination?: Destination | undefined;
}

export interface Judgement {
  problems: string[];
  /** The vocabulary term and sizes the treatment stands for once accepted (legacy spellings read). */
  technique?: string;
  particleSize?: string;
  screenSize?: string;
  /** A size a legacy spelling carried that this row does not judge: recorded in the details. */
  carried?: string;
}

/**
 * Judge one destruction against the table: the technique must be a term (or an exact legacy
 * spelling), the (media, technique) pair must be listed, the method must be the one the table
 * gives the pair, a size must be written with its unit and be no coarser than the row allows,
 * attestations must be made, and the destination must be open to the method.
 */
export function judgeTreatment(t: Treatment, table: RulesTable = rulesTable()): Judgement {
  const problems: string[] = [];
  const accepted = `accepted for ${t.media}: ${acceptedFor(t.media, table)} (see \`detailee rules\`)`;
  const resolved = resolveTechnique(t.technique, table);
  if (!resolved) {
    problems.push(`technique ${quote(t.technique)} is not a term of the vocabulary; ${accepted}`);
    return { problems };
  }
  const { technique, legacy } = resolved;
  const rule = findRule(t.media, technique, table);
  if (!rule) {
    const never = table.never.find((n) => n.technique === technique && n.media.includes(t.media));
    problems.push(
      never ? `${technique} is never valid for ${t.media}: ${never.why} (${never.source}); ${accepted}` : `${technique} is not valid for ${t.media}; ${accepted}`,
    );
    return { problems };
  }
  if (rule.method !== t.method) {
    const same = techniquesFor(t.media, t.method, table).map((r) => r.technique);
    problems.push(
      `${technique} of ${t.media} is ${rule.method}, not ${t.method} (${rule.note ? `${rule.note}; ` : ''}${rule.source}); write method: ${rule.method}` +
        (same.length > 0 ? `, or a ${t.method} technique for ${t.media}: ${same.join(', ')}` : `; ${t.media} has no ${t.method} technique`),
    );
  }

  let particleSize = t.particleSize;
  let screenSize = t.screenSize;
  let carried: string | undefined;
  if (legacy?.particleSize !== undefined || legacy?.screenSize !== undefined) {
    if (t.particleSize !== undefined || t.screenSize !== undefined) {
      problems.push(`technique ${quote(t.technique)} already carries its size; write technique: ${technique} with the size field alone`);
    }
    // A size the row judges becomes its field; one it does not (a screen size of a USB stick's
    // disintegrator) is kept as the record of what was written, never as a criterion.
    const kept: string[] = [];
    if (legacy.particleSize !== undefined) {
      if (rule.particleMax) particleSize = legacy.particleSize;
      else kept.push(`particle size ${legacy.particleSize}`);
    }
    if (legacy.screenSize !== undefined) {
      if (rule.screenMax !== undefined) screenSize = legacy.screenSize;
      else kept.push(`screen size ${legacy.screenSize}`);
    }
    if (kept.length > 0) carried = `${kept.join(', ')} (written as ${JSON.stringify(legacy.spelling)})`;
  }

  if (rule.particleMax) {
    if (particleSize === undefined) {
      problems.push(`${technique} of ${t.media} needs particleSize (${rule.particleMaxText} or finer, e.g. particleSize: "${rule.particleMaxText}")`);
    } else {
      const p = parseParticleSize(particleSize, table.units);
      if (!p.ok) problems.push(`particleSize ${quote(particleSize)} ${p.problem}`);
      else if (!particleWithin(p.value, rule.particleMax)) {
        problems.push(`particleSize ${quote(particleSize)} is ${fmt(p.value[0].mm)} mm x ${fmt(p.value[1].mm)} mm, coarser than the ${rule.particleMaxText} ${t.media} needs (${rule.source})`);
      }
    }
  } else if (particleSize !== undefined) {
    problems.push(`particleSize applies only to ${table.rules.filter((r) => r.particleMax).map((r) => `${r.technique} of ${r.media}`).join(', ')}, not to ${technique} of ${t.media}`);
  }
  if (rule.screenMax !== undefined) {
    if (screenSize === undefined) {
      problems.push(`${technique} of ${t.media} needs screenSize (${rule.screenMaxText} or finer, e.g. screenSize: "${rule.screenMaxText}")`);
    } else {
      const s = parseScreenSize(screenSize, table.units);
      if (!s.ok) problems.push(`screenSize ${quote(screenSize)} ${s.problem}`);
      else if (!notLonger(s.value, rule.screenMax)) problems.push(`screenSize ${quote(screenSize)} is ${fmt(s.value.mm)} mm, coarser than the ${rule.screenMaxText} ${t.media} needs (${rule.source})`);
    }
  } else if (screenSize !== undefined) {
    problems.push(`screenSize applies only to ${table.rules.filter((r) => r.screenMax !== undefined).map((r) => `${r.technique} of ${r.media}`).join(', ')}, not to ${technique} of ${t.media}`);
  }

  for (const a of rule.attest) {
    if (t[a] !== true) problems.push(`${technique} of ${t.media} is valid only if ${ATTESTATION_TEXT[a]} (${a}: true; ${rule.source})`);
  }

  const method = table.methods.find((m) => m.id === t.method);
  if (method && t.destination !== undefined && !method.destinations.includes(t.destination)) {
    problems.push(
      `${t.method} media cannot go to ${t.destination}${method.why ? `: ${method.why}` : ''} (${method.source}); destinations open to ${t.method}: ${method.destinations.join(', ')}`,
    );
  }

  const out: Judgement = { problems, technique };
  if (carried !== undefined) out.carried = carried;
  if (particleSize !== undefined) out.particleSize = particleSize;
  if (screenSize !== undefined) out.screenSize = screenSize;
  return out;
}

