import { redactUrl } from '../config/load.js';
import { InputError } from '../errors.js';
import type { Store } from './types.js';

/**
 * Open the store a URL names. The embedded store migrates itself; a shared PostgreSQL store is
 * migrated only by `detailee migrate`, so one operator's upgrade cannot surprise the others.
 */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const { SqliteStore } = await import('./sqlite.js');
    return SqliteStore.open(url.slice('sqlite:'.length), { migrate: options.migrate ?? true });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(url, { migrate: options.migrate ?? false });
  }
  throw new InputError(`Unknown store ${redactUrl(url)}.`, {
    code: 'store.url',
    actions: ['Use sqlite:<path> or postgres://…'],
  });
}
