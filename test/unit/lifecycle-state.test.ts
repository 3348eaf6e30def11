import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { reproofDue } from '../../src/lifecycle/reproof.js';
import { assertTransition, canTransition, requireState } from '../../src/lifecycle/state.js';
import { ASSIGNMENT_STATES, type AssignmentRecord } from '../../src/store/types.js';

describe('the lifecycle', () => {
  it('allows exactly the transitions of the design, and nothing backwards', () => {
    const allowed = ASSIGNMENT_STATES.flatMap((from) => ASSIGNMENT_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}>${to}`));
    expect(allowed).toEqual(['active>expired', 'active>revoked', 'expired>offboarding', 'revoked>offboarding', 'offboarding>closed']);
  });

  it('refuses an illegal transition with exit 2, naming the state and what it may become', () => {
    const e = (() => {
      try {
        assertTransition('irs-1', 'closed', 'revoked');
      } catch (x) {
        return x;
      }
    })() as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.exit).toBe(2);
    expect(e.message).toBe('Assignment irs-1 is closed; it cannot become revoked (closed is final).');
    expect(() => assertTransition('irs-1', 'expired', 'active')).toThrow(/from expired it can become offboarding/);
  });

  it('requireState names the command and the states it needs', () => {
    const rec = { id: 'irs-2', state: 'closed' } as AssignmentRecord;
    expect(() => requireState(rec, ['active'], 'renew')).toThrow('Assignment irs-2 is closed; `detailee renew` needs it active.');
    expect(() => requireState({ ...rec, state: 'active' }, ['active'], 'renew')).not.toThrow();
  });
});

describe('the nightly re-proof schedule', () => {
  const o = { nightlyDays: 30, everyDays: 7 };
  const day = (n: number) => new Date(Date.parse('2025-06-06T04:00:00Z') + n * 86_400_000);

  it('re-proves every night for the first nightlyDays after the end (or the revocation, if earlier)', () => {
    const s = { id: 'a', endsAt: '2025-06-06T04:00:00Z' };
    for (let n = 0; n <= 30; n++) expect(reproofDue(s, day(n), o)).toBe(true);
    const early = { id: 'a', endsAt: '2025-09-01T04:00:00Z', revokedAt: '2025-06-06T04:00:00Z' };
    expect(reproofDue(early, day(20), o)).toBe(true);
  });

  it('then once in every everyDays nights, each assignment on its own night', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `irs-2025-${String(i).padStart(4, '0')}`);
    for (const id of ids) {
      const s = { id, endsAt: '2025-06-06T04:00:00Z' };
      const nights = Array.from({ length: 7 }, (_, k) => reproofDue(s, day(100 + k), o)).filter(Boolean).length;
      expect(nights, id).toBe(1);
    }
    // Spread over the week, not all on one night.
    const perNight = Array.from({ length: 7 }, (_, k) => ids.filter((id) => reproofDue({ id, endsAt: '2025-06-06T04:00:00Z' }, day(100 + k), o)).length);
    expect(Math.max(...perNight)).toBeLessThan(60);
  });
});
