#!/usr/bin/env node
// Development entry: builds the TypeScript first so the commands run from fresh output. The
// version check comes first and alone, as in bin/run.js.
import './node-check.js';

import('./dev-start.js').catch(function (e) {
  process.stderr.write('detailee could not start: ' + (e && e.message) + '\n');
  process.exit(1);
});
