import { InputError } from '../errors.js';
import { LATEST_SCHEMA } from './migrations.js';

/** A store migrated by a newer detailee must not be written by an older one. */
export function checkSchemaVersion(found: number, location: string, migrating: boolean): void {
  if (found > LATEST_SCHEMA) {
    throw new InputError(
      `The store ${location} has schema version ${found}, newer than this detailee understands (${LATEST_SCHEMA}).`,
      { code: 'store.too-new', actions: ['Upgrade detailee to the version that migrated this store.'] },
    );
  }
  if (!migrating && found < LATEST_SCHEMA) {
    throw new InputError(`The store ${location} has schema version ${found}; this detailee needs ${LATEST_SCHEMA}.`, {
      code: 'store.too-old',
      actions: ['Run `detailee migrate` to bring the store up to date.'],
    });
  }
}
