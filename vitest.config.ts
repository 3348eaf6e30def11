import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A per-run temporary root, removed with every process left running in it (global-setup.ts);
    // the Samba domain template is provisioned once per run (samba-run.ts).
    globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/samba-run.ts'],
    // Every --json output the CLI tests see is checked against its schema in schemas/.
    setupFiles: ['test/helpers/json-check-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
