import { existsSync } from 'node:fs';
import { redactUrl } from '../config/resolve.js';
import { InputError } from '../errors.js';
import type { Store } from './types.js';

/**
 * Open the store a URL names. The embedded store migrates itself; a shared PostgreSQL store is
 * migrated only by `detailee migrate`, so one operator's upgrade cannot surprise the others.
 */
export async function openStore(url: string, options: { migrate?: boolean; mustExist?: string } = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    // Opening an embedded store creates its file: where one must already exist (the source of a
    // copy), a mistyped path must not leave an empty database behind.
    if (options.mustExist !== undefined && path !== ':memory:' && !existsSync(path)) {
      throw new InputError(`The ${options.mustExist} ${path} does not exist.`, {
        code: 'store.missing',
        actions: ['Check the path: it names an existing store file.'],
      });
    }
    const { SqliteStore } = await import('./sqlite.js');
    return SqliteStore.open(path, { migrate: options.migrate ?? true });
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
