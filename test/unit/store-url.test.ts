import { describe, expect, it } from 'vitest';
import { resolveStoreUrl } from '../../src/config/resolve.js';
import { storeUrlProblem } from '../../src/store/url.js';

describe('store URLs are checked before any driver sees them', () => {
  it('accepts the documented forms', () => {
    for (const url of ['sqlite:detailee.db', 'sqlite:/var/lib/detailee/detailee.db', 'sqlite::memory:', 'postgres://detailee@db.internal/detailee', 'postgresql://u:p%40ss@127.0.0.1:5432/d?schema=ops', 'postgres:///detailee?host=/var/run/postgresql']) {
      expect(storeUrlProblem(url), url).toBeUndefined();
    }
  });

  it.each([
    ['sqlite:', /names no file/],
    ['mysql://h/d', /neither sqlite:<path> nor a postgres:\/\/ URL/],
    ['postgres://u@host:notaport/d', /not a well-formed URL/],
    ['postgres://u@host:99999/d', /not a well-formed URL/],
    ['postgres://u@[::1/d', /not a well-formed URL/],
    ['postgres://u:p%zz@host/d', /broken percent-encoding/],
    ['postgres://u:pa#ss@host/d', /not a well-formed URL|"#"/],
    ['postgres://u@host/d#x', /"#" fragment/],
    ['postgres://', /names no host|not a well-formed URL/],
    ['postgres:///d', /names no host/],
    ['postgres://h/a%2Fb', /"\/" in its database name/],
  ])('refuses %s', (url, why) => {
    expect(storeUrlProblem(url)).toMatch(why);
  });

  it('a malformed $DETAILEE_DATABASE_URL is exit 2 naming the variable, never showing the password', () => {
    const env = { DETAILEE_DATABASE_URL: 'postgres://admin:s3cret-pass@db:54x32/detailee' };
    let err: unknown;
    try {
      resolveStoreUrl('sqlite:ok.db', '/tmp', env);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ exit: 2, code: 'config.store', message: expect.stringMatching(/^The store URL in \$DETAILEE_DATABASE_URL .* is not a well-formed URL/) });
    expect((err as Error).message).not.toContain('s3cret-pass');
  });

  it('names the config key, or the flag, when the URL came from there', () => {
    expect(() => resolveStoreUrl('postgres://u:p%zz@host/d', '/tmp', {})).toThrow(/store URL in store \(in the config\)/);
    expect(() => resolveStoreUrl('postgres://h:0/d', '/tmp', {}, '--to')).toThrow(/store URL in --to .* has port 0/);
  });
});
