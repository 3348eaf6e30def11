import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, prepare, ROOT } from '../helpers/scenario.js';
import { tempDir } from '../helpers/manifest.js';
import { startCliServers, type CliServers } from '../helpers/servers.js';

/**
 * Ctrl-C in the interactive offboarding checklist, on a real pseudo-terminal (util-linux
 * `script`): the keystroke is typed when the prompt is on the screen, not before.
 */
const OFFBOARD_AT = '2025-06-10T14:00:00Z';
/** A terminal's colour and cursor codes (ESC [ … letter). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
let started: CliServers;
let dir: string;
let answers: string;

beforeAll(async () => {
  started = await startCliServers();
  dir = tempDir('detailee-interrupt-');
  const p = prepare(dir, started.servers);
  answers = p.answers;
  const step = (args: string[], now: string) => {
    const r = cli(dir, [...args, '--json'], now);
    if (r.exit !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}${JSON.stringify(r.json)}`);
  };
  step(['assignment', 'sign', p.manifest, '--key', p.approverKey, '--kid', 'alan.turing'], '2025-02-03T15:00:00Z');
  step(['onboard', p.manifest, '--yes'], '2025-02-05T15:00:00Z');
  step(['fti', 'record', 'irs-2025-0042', '--description', 'TY2021 anonymized extract batch 7', '--type', 'return transcripts', '--tax-years', '2021', '--records', '250', '--media', 'paper', '--location', 'Bldg 2, Room 114, safe 3', '--received', '2025-03-03'], '2025-03-03T16:00:00Z');
  step(['fti', 'record', 'irs-2025-0042', '--description', 'TY2019-2021 sample extract', '--type', 'return information', '--tax-years', '2019-2021', '--records', '1200', '--media', 'ssd', '--location', 'laptop IRS-LT-0042', '--received', '2025-04-01'], '2025-04-01T16:00:00Z');
  step(['expire'], '2025-06-06T06:00:00Z');
}, 180_000);
afterAll(async () => {
  await started?.stop();
});

/**
 * `detailee offboard` on a terminal. `keys` pairs what to wait for on the screen with what to type
 * then; the run's output and exit code come back.
 */
function onTerminal(keys: [RegExp, string][]): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, 'bin', 'run.js'))} offboard irs-2025-0042`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, DETAILEE_CONFIG: join(dir, 'detailee.yaml'), DETAILEE_NOW: OFFBOARD_AT, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', XDG_CACHE_HOME: join(dir, '.cache') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let seen = 0;
    const pending = [...keys];
    const onData = (d: Buffer) => {
      // Without the terminal's colour and cursor codes, the screen reads as the user sees it.
      screen += d.toString().replace(ANSI, '');
      const next = pending[0];
      if (next && next[0].test(screen.slice(seen))) {
        seen = screen.length;
        pending.shift();
        child.stdin.write(next[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, screen }));
  });
}

describe('Ctrl-C during the offboarding checklist', () => {
  it('exits 130 with "interrupted", issues nothing, and the next run resumes at the next question', async () => {
    // The first question answered, then Ctrl-C at the second.
    const first = await onTerminal([
      [/: name/, 'Grace Hopper\r'],
      [/: title/, '\x03'],
    ]);
    expect(first.code, first.screen).toBe(130);
    expect(first.screen).toMatch(/interrupted/);
    expect(first.screen).not.toMatch(/bug|internal|Error:/i);
    expect(readdirSync(join(dir, 'certificates'))).toEqual([]);
    const mid = cli(dir, ['show', 'irs-2025-0042', '--json'], OFFBOARD_AT);
    expect(mid.json).toMatchObject({ state: 'offboarding' });

    // Again on a terminal: the name is kept, so the first question now is the title.
    const again = await onTerminal([[/: title/, '\x03']]);
    expect(again.code, again.screen).toBe(130);
    expect(again.screen).toMatch(/\? Person performing the return or destruction: title/);
    expect(again.screen).not.toMatch(/: name/);

    // And finished from the answers file, the certificate is issued.
    const done = cli(dir, ['offboard', 'irs-2025-0042', '--answers', answers, '--json'], OFFBOARD_AT);
    expect(done.exit, done.stderr + JSON.stringify(done.json)).toBe(0);
    expect(done.json).toMatchObject({ state: 'closed' });
  }, 120_000);
});
