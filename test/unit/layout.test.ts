import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMIT = 400;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function longFiles(files: string[]): string[] {
  return files.flatMap((f) => {
    const lines = readFileSync(f, 'utf8').split('\n').length - 1;
    return lines > LIMIT ? [`${relative(ROOT, f)}: ${lines} lines`] : [];
  });
}

describe('the layout', () => {
  it(`no source file or command is over ${LIMIT} lines: a longer one holds more than one job`, () => {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'commands'))];
    expect(files.length).toBeGreaterThan(50);
    expect(longFiles(files)).toEqual([]);
  });

  it('the check reports a file of LIMIT + 1 lines and passes one of LIMIT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'detailee-layout-'));
    try {
      writeFileSync(join(dir, 'long.ts'), 'x;\n'.repeat(LIMIT + 1));
      writeFileSync(join(dir, 'ok.ts'), 'x;\n'.repeat(LIMIT));
      expect(longFiles(sources(dir)).map((l) => l.replace(/^.*\//, ''))).toEqual([`long.ts: ${LIMIT + 1} lines`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
