/**
 * Whether a store URL is well formed, decided before any driver sees it: pg and libpq answer a
 * malformed URL with errors about hosts, sockets or "invalid URL" that do not say which setting
 * was wrong, and some of them only after a connection attempt. Cheap and dependency-free, so the
 * fast `status` start can use it.
 */
export function storeUrlProblem(url: string): string | undefined {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path.trim() === '') return 'names no file: write sqlite:/path/to/detailee.db';
    // eslint-disable-next-line no-control-regex -- a control character in a path is the problem
    if (/[\u0000-\u001f]/.test(path)) return 'has a control character in its path';
    return undefined;
  }
  if (!/^postgres(ql)?:\/\//.test(url)) return 'is neither sqlite:<path> nor a postgres:// URL';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a well-formed URL: check the host and port, and percent-encode any "@", ":", "/", "#" or "?" in the user name or password (%40, %3A, %2F, %23, %3F)';
  }
  try {
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    decodeURIComponent(u.pathname);
  } catch {
    return 'has a broken percent-encoding (a "%" not followed by two hex digits): write a literal "%" as %25';
  }
  if (u.hash !== '') return 'has a "#" fragment, which is usually an unencoded "#" in the password: write it as %23';
  if (u.hostname === '' && !u.searchParams.get('host')) return 'names no host: write postgres://user@host/database (or ?host=/path/to/socket/dir)';
  if (u.port !== '' && Number(u.port) === 0) return 'has port 0';
  if (decodeURIComponent(u.pathname).slice(1).includes('/')) return 'has a "/" in its database name';
  return undefined;
}
