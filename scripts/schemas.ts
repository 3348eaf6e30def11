/**
 * JSON Schemas of every command's `--json` output, generated from the TypeScript types in
 * src/cli/json-outputs.ts into schemas/: one file per command (`status.schema.json`,
 * `fti-list.schema.json`...) and `error.schema.json` for the failure of any of them.
 *
 * The types are read with TypeScript's own checker, so a type inferred from a validator or built
 * from others comes out as what it is. `node scripts/schemas.ts` writes the files;
 * test/unit/json-schemas.test.ts fails while they differ from the types.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { sourceProgram } from './ts-program.ts';

type Schema = Record<string, unknown>;

export const SCHEMA_DIR = 'schemas';
const BASE_ID = 'https://detailee.invalid/schemas/';

export function schemaFileFor(command: string): string {
  return `${command.replaceAll(' ', '-')}.schema.json`;
}

class Converter {
  readonly definitions = new Map<string, Schema>();
  private readonly owners = new Map<string, ts.Type>();
  private readonly checker: ts.TypeChecker;
  constructor(checker: ts.TypeChecker) {
    this.checker = checker;
  }

  /** A named interface, class or alias of an object gets a definition; generic instances do not. */
  private nameOf(type: ts.Type): string | undefined {
    const alias = type.aliasSymbol;
    if (alias && !(type.aliasTypeArguments?.length)) return alias.name;
    const sym = type.getSymbol();
    if (!sym || sym.name.startsWith('__')) return undefined;
    if ((type as ts.TypeReference).typeArguments?.length) return undefined;
    if (!(sym.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class))) return undefined;
    return sym.name;
  }

  convert(type: ts.Type): Schema {
    const c = this.checker;
    const f = type.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (f & ts.TypeFlags.StringLiteral) return { type: 'string', const: (type as ts.StringLiteralType).value };
    if (f & ts.TypeFlags.NumberLiteral) return { type: 'number', const: (type as ts.NumberLiteralType).value };
    if (f & ts.TypeFlags.BooleanLiteral) return { type: 'boolean', const: c.typeToString(type) === 'true' };
    if (f & ts.TypeFlags.String || f & ts.TypeFlags.TemplateLiteral) return { type: 'string' };
    if (f & ts.TypeFlags.Number) return { type: 'number' };
    if (f & ts.TypeFlags.Boolean) return { type: 'boolean' };
    if (f & ts.TypeFlags.Null) return { type: 'null' };
    if (type.isUnion()) return this.union(type.types);
    const named = this.nameOf(type);
    if (named !== undefined && named !== 'Array' && named !== 'Date') {
      const owner = this.owners.get(named);
      if (owner !== undefined && owner !== type) throw new Error(`two types are both named ${named}; rename one (the schemas name definitions by type name)`);
      if (owner === undefined) {
        this.owners.set(named, type);
        this.definitions.set(named, {}); // placeholder: a type that refers to itself
        this.definitions.set(named, this.structure(type));
      }
      return { $ref: `#/definitions/${named}` };
    }
    return this.structure(type);
  }

  private union(types: readonly ts.Type[]): Schema {
    const parts = types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
    const literals = parts.filter((t) => t.flags & ts.TypeFlags.StringLiteral);
    const bools = parts.filter((t) => t.flags & ts.TypeFlags.BooleanLiteral);
    const rest = parts.filter((t) => !(t.flags & (ts.TypeFlags.StringLiteral | ts.TypeFlags.BooleanLiteral)));
    const out: Schema[] = [];
    if (literals.length) out.push({ type: 'string', enum: literals.map((t) => (t as ts.StringLiteralType).value).sort() });
    if (bools.length === 2) out.push({ type: 'boolean' });
    else if (bools.length === 1) out.push(this.convert(bools[0]!));
    for (const t of rest) out.push(this.convert(t));
    if (out.length === 1) return out[0]!;
    return { anyOf: out };
  }

  private structure(type: ts.Type): Schema {
    const c = this.checker;
    if (c.isArrayType(type)) return { type: 'array', items: this.convert(c.getTypeArguments(type as ts.TypeReference)[0]!) };
    if (c.isTupleType(type)) {
      const items = c.getTypeArguments(type as ts.TypeReference).map((t) => this.convert(t));
      return { type: 'array', items, minItems: items.length, maxItems: items.length };
    }
    if (type.getSymbol()?.name === 'Date') return { type: 'string' };
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const p of c.getPropertiesOfType(type)) {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      const pt = decl ? c.getTypeOfSymbolAtLocation(p, decl) : c.getTypeOfSymbol(p);
      // JSON.stringify leaves methods out.
      if (pt.getCallSignatures().length > 0 && !pt.isUnion()) continue;
      const doc = ts.displayPartsToString(p.getDocumentationComment(c)).trim();
      properties[p.name] = { ...(doc ? { description: doc } : {}), ...this.convert(pt) };
      const optional = (p.flags & ts.SymbolFlags.Optional) !== 0 || (pt.isUnion() && pt.types.some((t) => t.flags & ts.TypeFlags.Undefined));
      if (!optional) required.push(p.name);
    }
    const index = c.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.String);
    return {
      type: 'object',
      properties,
      ...(required.length ? { required } : {}),
      additionalProperties: index ? this.convert(index.type) : false,
    };
  }
}

/** The definitions a schema refers to, and those they refer to: the rest is left out. */
function reachable(root: unknown, definitions: Map<string, Schema>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string' && x.startsWith('#/definitions/')) {
          const name = x.slice('#/definitions/'.length);
          if (!(name in out)) {
            out[name] = definitions.get(name)!;
            walk(out[name]);
          }
        } else walk(x);
      }
    }
  };
  walk(root);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** File name → its text, as the types say it should be. */
export function buildSchemas(root: string): Map<string, string> {
  const file = join(root, 'src/cli/json-outputs.ts');
  const program = sourceProgram([file]);
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file)!;
  const typeNamed = (name: string): ts.Type => {
    const sym = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === name);
    if (!sym) throw new Error(`src/cli/json-outputs.ts has no type ${name}`);
    return checker.getDeclaredTypeOfSymbol(sym);
  };
  const conv = new Converter(checker);
  const files = new Map<string, string>();
  const emit = (name: string, title: string, body: Schema) => {
    const defs = reachable(body, conv.definitions);
    const schema = { $schema: 'http://json-schema.org/draft-07/schema#', $id: `${BASE_ID}${name}`, title, ...body, ...(Object.keys(defs).length ? { definitions: defs } : {}) };
    files.set(name, `${JSON.stringify(schema, null, 2)}\n`);
  };
  const outputs = typeNamed('JsonOutputs');
  for (const p of checker.getPropertiesOfType(outputs).sort((a, b) => a.name.localeCompare(b.name))) {
    emit(schemaFileFor(p.name), `detailee ${p.name} --json`, conv.convert(checker.getTypeOfSymbol(p)));
  }
  emit('error.schema.json', 'detailee COMMAND --json, on failure', conv.convert(typeNamed('ErrorOutput')));
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = resolve(import.meta.dirname, '..');
  const dir = join(root, SCHEMA_DIR);
  const want = buildSchemas(root);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.schema.json') && !want.has(f)) rmSync(join(dir, f));
  for (const [f, text] of want) writeFileSync(join(dir, f), text);
  process.stdout.write(`wrote ${want.size} schemas to ${SCHEMA_DIR}/\n`);
}
