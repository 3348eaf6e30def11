import { describe, expect, it } from 'vitest';
import { Config, type Command } from '@oclif/core';
import { helpAddition } from '@oclif/core/run';
import { versionLine } from '../../src/cli/fast.js';
import { helpRequested, jsonEnabled, statusParseFlags } from '../../src/cli/fast-status.js';
import { packageRoot } from '../../src/package-root.js';

/**
 * The fast start's decisions held against oclif's own, as oclif loads the built commands
 * (package.json's oclif.commands is dist/commands): here, not in the unit tier, because it needs
 * the build.
 */
describe('the fast status start decides as oclif does', () => {
  it("parses with the very flags oclif parses the command with: --json, the base flags, the command's own", async () => {
    const config = await Config.load(packageRoot());
    const command = config.findCommand('status')!;
    // A flag as oclif keeps it in its manifest: everything but the functions, less what oclif adds
    // itself (the parser writes name and input into the definitions; hasDynamicHelp is the
    // manifest's note that there is no help function).
    const plain = (flags: Record<string, unknown>) =>
      Object.entries(JSON.parse(JSON.stringify(flags)) as Record<string, Record<string, unknown>>).map(([key, { name: _n, input: _i, hasDynamicHelp: _h, ...rest }]) => [key, rest]);
    expect(plain(statusParseFlags)).toEqual(plain(command.flags));
    expect(Object.keys(command.flags)).toEqual(['json', 'config', 'state', 'ending-within', 'csv']);
  });

  it("decides --json and --help as oclif does (Command.jsonEnabled, main's helpAddition)", async () => {
    const config = await Config.load(packageRoot());
    const Status = (await config.findCommand('status')!.load()) as unknown as new (argv: string[], config: Config) => Command;
    const saved = process.env.DETAILEE_CONTENT_TYPE;
    try {
      for (const contentType of [undefined, 'json', 'JSON', 'text']) {
        if (contentType === undefined) delete process.env.DETAILEE_CONTENT_TYPE;
        else process.env.DETAILEE_CONTENT_TYPE = contentType;
        for (const args of [[], ['--json'], ['--config', 'c.yaml', '--json'], ['--', '--json'], ['--json', '--'], ['--csv'], ['--config', '--json']]) {
          const label = `${contentType} ${args.join(' ')}`;
          expect(jsonEnabled(args, { DETAILEE_CONTENT_TYPE: contentType }), label).toBe(new Status(args, config).jsonEnabled());
        }
      }
    } finally {
      if (saved === undefined) delete process.env.DETAILEE_CONTENT_TYPE;
      else process.env.DETAILEE_CONTENT_TYPE = saved;
    }
    const helpFlags = config.pjson.oclif.additionalHelpFlags ?? [];
    expect(helpFlags).toEqual(['-h']);
    for (const argv of [['status'], ['status', '--help'], ['status', '-h'], ['status', '--config', '--help'], ['status', '--json', '-h'], ['status', '--', '--help'], ['status', '-H'], ['status', '--help=1']]) {
      expect(helpRequested(argv, helpFlags), argv.join(' ')).toBe(helpAddition(argv, config));
    }
  });

  it("the version line is oclif's user agent", async () => {
    const config = await Config.load(packageRoot());
    expect(versionLine({ name: config.name, version: config.version })).toBe(config.userAgent);
  });

});
