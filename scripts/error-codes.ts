/**
 * Finds every error code the source can raise, with the exit code of the error class that carries
 * it and the first suggested action, by reading the TypeScript itself: `docs/errors.md` is checked
 * against this (test/unit/error-registry.test.ts), so a code added, renamed or moved to another
 * exit is a visible change to that file. `npm run errors` prints the rows for codes it lacks.
 */
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { sourceProgram } from './ts-program.ts';

export interface CodeUse {
  code: string;
  /** The exit code of the error class raised with it; undefined where the class is chosen at run time. */
  exit: number | undefined;
  file: string;
  line: number;
  /** The first of its `actions`, as written in the source (a template keeps its ${...}). */
  action: string | undefined;
}

const EXIT_OF_CLASS: Record<string, number> = { InputError: 2, ActionError: 1, VerificationError: 3, LockedError: 4 };
const CODE_SHAPE = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;

function literals(node: ts.Expression, checker: ts.TypeChecker): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isParenthesizedExpression(node)) return literals(node.expression, checker);
  if (ts.isConditionalExpression(node)) return [...literals(node.whenTrue, checker), ...literals(node.whenFalse, checker)];
  const type = checker.getTypeAtLocation(node);
  const parts = type.isUnion() ? type.types : [type];
  return parts.every((t) => t.isStringLiteral()) ? parts.map((t) => (t as ts.StringLiteralType).value) : [];
}

function actionText(obj: ts.ObjectLiteralExpression, sf: ts.SourceFile): string | undefined {
  for (const p of obj.properties) {
    if (ts.isPropertyAssignment(p) && p.name.getText(sf) === 'actions' && ts.isArrayLiteralExpression(p.initializer)) {
      const first = p.initializer.elements[0];
      if (first === undefined) return undefined;
      if (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) return first.text;
      if (ts.isTemplateExpression(first)) return first.getText(sf).slice(1, -1);
      return undefined;
    }
  }
  return undefined;
}

/** The error class a `new X(message, options)` constructs, when `node` is that options object. */
function classOf(obj: ts.Node): string | undefined {
  const parent = obj.parent;
  if (parent && ts.isNewExpression(parent) && ts.isIdentifier(parent.expression) && parent.arguments?.[1] === obj) return parent.expression.text;
  return undefined;
}

/** For a helper that takes a `code` parameter: the class it raises that code with, if it says so. */
function helperClass(decl: ts.SignatureDeclaration, checker: ts.TypeChecker, depth = 0): string | undefined {
  let found: string | undefined;
  const visit = (n: ts.Node): void => {
    if (found) return;
    // A helper that hands its code on to another helper raises what that one raises.
    if (depth < 3 && ts.isCallExpression(n) && n.arguments.some((a) => ts.isIdentifier(a) && a.text === 'code')) {
      const inner = checker.getResolvedSignature(n)?.getDeclaration();
      if (inner && !ts.isJSDocSignature(inner) && inner !== decl) found = helperClass(inner, checker, depth + 1);
      if (found) return;
    }
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && EXIT_OF_CLASS[n.expression.text] !== undefined) {
      const opts = n.arguments?.[1];
      if (opts && ts.isObjectLiteralExpression(opts)) {
        for (const p of opts.properties) {
          if ((ts.isShorthandPropertyAssignment(p) && p.name.text === 'code') || (ts.isPropertyAssignment(p) && p.name.getText() === 'code' && ts.isIdentifier(p.initializer) && p.initializer.text === 'code')) {
            found = n.expression.text;
            return;
          }
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  const body = (decl as { body?: ts.Node }).body;
  if (body) visit(body);
  return found;
}

export function scanErrorCodes(root: string, folders: readonly string[] = ['src', 'commands']): CodeUse[] {
  const files = folders.flatMap((f) => ts.sys.readDirectory(resolve(root, f), ['.ts'], ['**/*.d.ts']));
  const program = sourceProgram(files);
  const checker = program.getTypeChecker();
  const out: CodeUse[] = [];
  const add = (sf: ts.SourceFile, at: ts.Node, codes: string[], cls: string | undefined, action: string | undefined) => {
    const line = sf.getLineAndCharacterOfPosition(at.getStart(sf)).line + 1;
    for (const code of codes) {
      if (!CODE_SHAPE.test(code)) continue;
      out.push({ code, exit: cls === undefined ? undefined : EXIT_OF_CLASS[cls], file: relative(root, sf.fileName), line, action });
    }
  };
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !files.includes(sf.fileName)) continue;
    const visit = (n: ts.Node): void => {
      if (ts.isObjectLiteralExpression(n)) {
        const cls = classOf(n);
        for (const p of n.properties) {
          if (ts.isPropertyAssignment(p) && p.name.getText(sf) === 'code' && (cls !== undefined || isErrorBody(n, sf))) {
            add(sf, p, literals(p.initializer, checker), cls, actionText(n, sf));
          }
        }
      }
      if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
        const sig = checker.getResolvedSignature(n);
        const decl = sig?.getDeclaration();
        if (decl && !ts.isJSDocSignature(decl)) {
          const argFor = (name: string) => {
            const i = decl.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === name);
            return i < 0 ? undefined : n.arguments?.[i];
          };
          const code = argFor('code');
          const action = argFor('action');
          const actionLiteral = action && (ts.isStringLiteral(action) || ts.isNoSubstitutionTemplateLiteral(action)) ? action.text : undefined;
          if (code) add(sf, code, literals(code, checker), helperClass(decl, checker), actionLiteral);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out.sort((a, b) => a.code.localeCompare(b.code) || a.file.localeCompare(b.file) || a.line - b.line);
}

/** An error body written out by hand (the CLI's own envelope): it has `code` and `message`. */
function isErrorBody(obj: ts.ObjectLiteralExpression, sf: ts.SourceFile): boolean {
  const names = new Set(obj.properties.map((p) => p.name?.getText(sf)));
  return names.has('message') && names.has('exit');
}

export interface RegistryRow {
  code: string;
  exit: string;
  fix: string;
}

/** The table rows of docs/errors.md: | `code` | exit | what to do |. */
export function parseRegistry(markdown: string): RegistryRow[] {
  const rows: RegistryRow[] = [];
  for (const line of markdown.split('\n')) {
    const m = /^\| `([^`]+)` \| ([0-9, –-]+|varies) \| (.*) \|$/.exec(line);
    if (m) rows.push({ code: m[1]!, exit: m[2]!.trim(), fix: m[3]!.trim() });
  }
  return rows;
}

/** The exits a registry row allows: `2`, `1, 3`, or `varies` (any). */
export function allowedExits(row: RegistryRow): number[] | 'any' {
  return row.exit === 'varies' ? 'any' : row.exit.split(',').map((s) => Number(s.trim()));
}

// `node scripts/error-codes.ts`: the rows docs/errors.md lacks, to paste and then edit.
if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(import.meta.dirname, '..');
  const { readFileSync } = await import('node:fs');
  const known = new Set(parseRegistry(readFileSync(resolve(root, 'docs/errors.md'), 'utf8')).map((r) => r.code));
  const byCode = new Map<string, CodeUse[]>();
  for (const u of scanErrorCodes(root)) byCode.set(u.code, [...(byCode.get(u.code) ?? []), u]);
  for (const [code, uses] of byCode) {
    if (known.has(code)) continue;
    const exits = [...new Set(uses.map((u) => u.exit).filter((e) => e !== undefined))].sort();
    const fix = uses.find((u) => u.action)?.action ?? '';
    process.stdout.write(`| \`${code}\` | ${exits.length ? exits.join(', ') : 'varies'} | ${fix.replaceAll('|', '\\|')} |\n`);
  }
}
