#!/usr/bin/env node
// Only the version check is imported statically: everything else is loaded after it passed, so an
// old Node never parses or links code it cannot run (bin/start.js holds the real start).
import './node-check.js';

import('./start.js').catch(function (e) {
  process.stderr.write('detailee could not start: ' + (e && e.message) + '\n');
  process.exit(1);
});
