import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * test/unit is the fast loop: no build, no network, no external program. A unit test that needs
 * one of those belongs in test/integration (servers, binaries) or test/cli (the built binary).
 */
const dir = import.meta.dirname;
const FORBIDDEN: [RegExp, string][] = [
  [/from 'node:child_process'|require\('node:child_process'\)/, 'runs an external program'],
  [/['/]dist['/]/, 'needs a build'],
  // oclif's loader reads the commands from dist/ (package.json's oclif.commands).
  [/\bConfig\.load\(/, 'needs a build (oclif loads the built commands)'],
  [/helpers\/(slapd|moto|servers|world|samba|samba-run|pg-cluster|smtp|tcp-proxy|terminal)\.js/, 'starts a server or a terminal'],
  [/helpers\/scenario\.js/, 'drives the built CLI'],
];

describe('the unit tier', () => {
  it('recognises each kind of dependency it forbids (a check that matched nothing would pass everything)', () => {
    const offenders = [
      "import { spawnSync } from 'node:child_process';",
      "await import(join(root, 'dist', 'src', 'x.js'))",
      'const config = await Config.load(packageRoot());',
      "import { startSlapd } from '../helpers/slapd.js';",
      "import { cli } from '../helpers/scenario.js';",
    ];
    expect(offenders.map((o) => FORBIDDEN.filter(([re]) => re.test(o)).length)).toEqual([1, 1, 1, 1, 1]);
  });


  it('needs no build, no server and no external program', () => {
    const bad: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const [re, why] of FORBIDDEN) if (re.test(text) && f !== 'tiers.test.ts') bad.push(`${f} ${why}`);
    }
    expect(bad).toEqual([]);
  });
});
