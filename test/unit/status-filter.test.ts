import { describe, expect, it } from 'vitest';
import { parsePeriod, parseStates, stateOf } from '../../src/lifecycle/status-filter.js';
import { csv } from '../../src/ui/csv.js';

describe('status filters', () => {
  it('periods are whole days or weeks; anything else is refused, not guessed', () => {
    expect(parsePeriod('30d')).toBe(30);
    expect(parsePeriod('2w')).toBe(14);
    expect(parsePeriod('3660d')).toBe(3660);
    for (const bad of ['', '30', '0d', '1m', '1y', '-3d', '1.5w', ' 3d', '3d ', '3661d', '600w', '03d']) {
      expect(() => parsePeriod(bad), JSON.stringify(bad)).toThrow(/--ending-within/);
    }
  });

  it('states: repeated and comma-separated values, each checked', () => {
    expect([...parseStates(['active,expired', 'closed'])]).toEqual(['active', 'expired', 'closed']);
    expect([...parseStates(['scheduled', 'scheduled'])]).toEqual(['scheduled']);
    expect(() => parseStates(['active,'])).toThrow(/"" is not a state/);
    expect(() => parseStates(['Active'])).toThrow(/"Active" is not a state/);
  });

  it('an active assignment is "scheduled" until its start instant, then "active"; other states are themselves', () => {
    const startsAt = '2025-04-01T00:00:00-04:00';
    expect(stateOf({ state: 'active', startsAt }, new Date('2025-04-01T03:59:59.999Z'))).toBe('scheduled');
    expect(stateOf({ state: 'active', startsAt }, new Date('2025-04-01T04:00:00Z'))).toBe('active');
    expect(stateOf({ state: 'revoked', startsAt }, new Date('2025-01-01T00:00:00Z'))).toBe('revoked');
  });
});

describe('csv (RFC 4180)', () => {
  it('quotes only fields that need it, doubles quotes, ends every record with CRLF', () => {
    expect(csv(['a', 'b'], [['x', 1], [null, true]])).toBe('a,b\r\nx,1\r\n,true\r\n');
    expect(csv(['v'], [['say "hi"'], ['a,b'], ['line\nbreak'], ['cr\r'], [' keep ']])).toBe('v\r\n"say ""hi"""\r\n"a,b"\r\n"line\nbreak"\r\n"cr\r"\r\n keep \r\n');
  });
});
