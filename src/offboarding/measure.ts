/**
 * Sizes in destruction answers (particle and screen sizes), parsed whole with their unit and
 * compared exactly. The units come from the rules table.
 */
/**
 * A length in millimetres as an exact fraction, with a float only for display. Exact, because a
 * size written at the bound must pass and one a hair over must not: 0.24 cm is 2.4 mm, where
 * floating point makes it 2.4000000000000004.
 */
export interface Length {
  num: bigint;
  den: bigint;
  mm: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** A decimal (1, 0.8) or a fraction (3/32); no decimal commas, no signs, no exponent. */
const NUMBER = String.raw`(\d+(?:\.\d+)?|\d+/\d+)`;
const UNIT = String.raw`([^\s\d./x×]+)`;

/** "0.8" → 8/10, "3/32" → 3/32; undefined for anything else (or a zero denominator). */
function fraction(t: string): { num: bigint; den: bigint } | undefined {
  let m = /^(\d+)\/(\d+)$/.exec(t);
  if (m) return BigInt(m[2]!) === 0n ? undefined : { num: BigInt(m[1]!), den: BigInt(m[2]!) };
  m = /^(\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) return undefined;
  const decimals = m[2] ?? '';
  return { num: BigInt(m[1]! + decimals), den: 10n ** BigInt(decimals.length) };
}

function length(num: bigint, den: bigint): Length {
  return { num, den, mm: Number(num) / Number(den) };
}

/** a ≤ b, exactly. */
export function notLonger(a: Length, b: Length): boolean {
  return a.num * b.den <= b.num * a.den;
}

function unitList(units: Record<string, number>): string {
  return Object.keys(units).join(', ');
}

function measure(figure: string, unit: string, units: Record<string, number>): Parsed<Length> {
  const n = fraction(figure);
  if (n === undefined || n.num === 0n) return { ok: false, problem: `has ${figure}, which is not a size greater than 0` };
  if (!Object.hasOwn(units, unit)) return { ok: false, problem: `has the unit "${unit}"; write one of ${unitList(units)}` };
  const factor = fraction(String(units[unit]));
  if (factor === undefined) return { ok: false, problem: `has the unit "${unit}", whose size in mm the table does not give as a decimal` };
  return { ok: true, value: length(n.num * factor.num, n.den * factor.den) };
}

/**
 * "1 mm x 5 mm", "1x5 mm", "0.5 mm × 0.2 cm" → millimetres, in the order written. Both figures
 * need a unit: one written after the second figure applies to both. Anything else is refused
 * rather than guessed at; "1x5 cm" is 10 mm × 50 mm, never 1 mm × 5 mm.
 */
export function parseParticleSize(input: string, units: Record<string, number>): Parsed<[Length, Length]> {
  const example = 'write it like "1 mm x 5 mm"';
  const m = new RegExp(String.raw`^\s*${NUMBER}\s*${UNIT}?\s*[x×]\s*${NUMBER}\s*${UNIT}?\s*$`).exec(input);
  if (!m) return { ok: false, problem: `is not a particle size: ${example} (figures, a unit from ${unitList(units)}, and x between them)` };
  const [, a, ua, b, ub] = m;
  if (ub === undefined) return { ok: false, problem: `has no unit after its last figure: ${example}` };
  const first = measure(a!, ua ?? ub, units);
  if (!first.ok) return first;
  const second = measure(b!, ub, units);
  if (!second.ok) return second;
  return { ok: true, value: [first.value, second.value] };
}

/** "2.4 mm", "3/32 in" → millimetres. A bare figure is refused: a screen size has a unit. */
export function parseScreenSize(input: string, units: Record<string, number>): Parsed<Length> {
  const m = new RegExp(String.raw`^\s*${NUMBER}\s*${UNIT}?\s*$`).exec(input);
  if (!m) return { ok: false, problem: `is not a screen size: write it like "2.4 mm" or "3/32 in" (a unit from ${unitList(units)})` };
  if (m[2] === undefined) return { ok: false, problem: `has no unit: write it like "${m[1]} mm"` };
  return measure(m[1]!, m[2], units);
}

/** Compared smaller side with smaller side, so "5 mm x 1 mm" is the same particle as "1 mm x 5 mm". */
export function particleWithin(size: readonly [Length, Length], max: readonly [Length, Length]): boolean {
  const sorted = (p: readonly [Length, Length]) => (notLonger(p[0], p[1]) ? [p[0], p[1]] : [p[1], p[0]]) as [Length, Length];
  const [s, l] = sorted(size);
  const [ms, ml] = sorted(max);
  return notLonger(s, ms) && notLonger(l, ml);
}

/** Millimetres for a message: at most three decimals. */
export function fmt(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

