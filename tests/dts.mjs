// What pkg/index.d.ts declares, read with the TypeScript compiler, so tests can hold the code
// (pkg/src, the wasm's reports) to the declarations instead of to a second hand-written list.
import path from 'node:path';
import ts from 'typescript';

export const DTS = path.resolve(import.meta.dirname, '../pkg/index.d.ts');

const program = ts.createProgram([DTS], {
  strict: true, noEmit: true, types: [], target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.esnext.disposable.d.ts'],
});
const checker = program.getTypeChecker();
const exported = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(DTS)))
  .map((s) => [s.name, s]));

function symbol(name) {
  const s = exported.get(name);
  if (!s) throw new Error(`index.d.ts exports no ${name}`);
  return s;
}

/** A member's name as JS sees it: `Symbol.dispose` for a well-known symbol key. */
const memberName = (p) => p.name.replace(/^__@(\w+)@\d+$/, 'Symbol.$1');
const literals = (type) => (type.isUnion() ? type.types : [type]).map((t) => t.value);

/** The names of the value exports (classes, consts, the default), not the types. */
export function valueExports() {
  return [...exported.values()]
    .filter((s) => ((s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s).flags & ts.SymbolFlags.Value))
    .map((s) => s.name).sort();
}

/** Instance members (methods, getters) and statics of a declared class. */
export function classMembers(name) {
  const s = symbol(name);
  const instance = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(s)).map(memberName).sort();
  const statics = checker.getPropertiesOfType(checker.getTypeOfSymbol(s)).map(memberName)
    .filter((n) => n !== 'prototype').sort();
  return { instance, statics };
}

/** The string literals of a union type alias (`ErrorCode`). */
export function unionOf(name) {
  return literals(checker.getDeclaredTypeOfSymbol(symbol(name))).sort();
}

/** An error class's declared `code` literals, and whether its constructor takes the code first. */
export function errorClass(name) {
  const s = symbol(name);
  const code = checker.getPropertyOfType(checker.getDeclaredTypeOfSymbol(s), 'code');
  const [ctor] = checker.getSignaturesOfType(checker.getTypeOfSymbol(s), ts.SignatureKind.Construct);
  return { codes: literals(checker.getTypeOfSymbol(code)).sort(), codeFirst: ctor.parameters[0]?.name === 'code' };
}

/** Required and optional keys of a declared interface. */
export function keysOf(name) {
  const props = checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol(name)));
  const optional = (p) => (p.flags & ts.SymbolFlags.Optional) !== 0;
  return { required: props.filter((p) => !optional(p)).map((p) => p.name).sort(), optional: props.filter(optional).map((p) => p.name).sort() };
}

/** Throws unless `value` (a plain object) has every required key of `name` and no undeclared key. */
export function assertShape(value, name) {
  const { required, optional } = keysOf(name);
  const keys = Object.keys(value);
  const missing = required.filter((k) => !keys.includes(k));
  const extra = keys.filter((k) => !required.includes(k) && !optional.includes(k));
  if (missing.length || extra.length) {
    throw new Error(`${name} per index.d.ts: missing ${JSON.stringify(missing)}, undeclared ${JSON.stringify(extra)} in ${JSON.stringify(value)}`);
  }
}
