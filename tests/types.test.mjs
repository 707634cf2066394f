// pkg/index.d.ts held to the code, in plain Node (no browser, no wasm): the strict type check of
// tests/types/consumer.ts (`npm run typecheck`), and the declared exports, verbs, error classes
// and codes against what src/ and the Rust core really have. Report fields are checked against
// the running wasm in pkg.test.mjs (assertShape).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { valueExports, classMembers, unionOf, errorClass } from './dts.mjs';
import * as pkg from '../pkg/src/index.js';
import { errorFromCode } from '../pkg/src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const tsc = (project) => spawnSync(process.execPath, [TSC, '-p', project], { cwd: ROOT, encoding: 'utf8' });

test('npm run typecheck: the consumer of index.d.ts compiles under tsc --strict', () => {
  const r = tsc('tests/types');
  assert.equal(r.status, 0, `tsc -p tests/types failed:\n${r.stdout}${r.stderr}`);
});

test('the type check catches a misnamed report field (so the one above is not vacuous)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legonet-types-'));
  try {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      extends: path.join(ROOT, 'tests/types/tsconfig.json'), files: ['bad.ts'],
    }));
    fs.writeFileSync(path.join(dir, 'bad.ts'),
      "import type { ForgetReport } from 'legonet';\nexport const n = (r: ForgetReport): number => r.replayedSamples;\n");
    const r = tsc(dir);
    assert.notEqual(r.status, 0, 'tsc accepted a field index.d.ts does not declare');
    assert.match(r.stdout, /bad\.ts.*TS2339.*replayedSamples/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('src/index.js exports exactly the values index.d.ts declares', () => {
  assert.deepEqual(Object.keys(pkg).sort(), valueExports());
  assert.equal(pkg.default, pkg.LegoNet);
});

test('LegoNet has exactly the verbs, getters and statics index.d.ts declares', () => {
  const proto = pkg.LegoNet.prototype;
  // A well-known symbol by its name in `Symbol` (Node 20 describes Symbol.dispose as 'nodejs.dispose').
  const wellKnown = (k) => Object.getOwnPropertyNames(Symbol).find((n) => Symbol[n] === k);
  const named = (k) => (typeof k === 'symbol' ? `Symbol.${wellKnown(k) ?? k.description}` : k);
  const instance = Reflect.ownKeys(proto).filter((k) => k !== 'constructor').map(named).sort();
  const statics = Object.getOwnPropertyNames(pkg.LegoNet).filter((k) => !['length', 'name', 'prototype'].includes(k)).sort();
  const declared = classMembers('LegoNet');
  assert.deepEqual(instance, declared.instance);
  assert.deepEqual(statics, declared.statics);
});

/** The codes the Rust core gives JS: the arms of `Error::code`, wherever it lives in crate/src. */
function rustCodes() {
  const files = fs.readdirSync(path.join(ROOT, 'crate/src'), { recursive: true })
    .filter((f) => f.endsWith('.rs')).map((f) => fs.readFileSync(path.join(ROOT, 'crate/src', f), 'utf8'));
  const bodies = files.map((s) => s.match(/pub fn code\(&self\) -> &'static str \{([\s\S]*?)\n    \}/)?.[1]).filter(Boolean);
  assert.equal(bodies.length, 1, 'exactly one `pub fn code(&self) -> &\'static str` in crate/src');
  return [...bodies[0].matchAll(/=>\s*"([A-Z][A-Z0-9_]*)"/g)].map((m) => m[1]);
}

/** The codes the package raises itself: upper-case string literals and BY_CODE keys in pkg/src. */
function packageCodes() {
  const dir = path.join(ROOT, 'pkg/src');
  const src = fs.readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  return [...src.matchAll(/'([A-Z][A-Z0-9_]{2,})'|^\s+([A-Z][A-Z0-9_]{2,}):/gm)].map((m) => m[1] ?? m[2]);
}

test('ErrorCode is exactly the Rust core\'s codes plus those pkg/src raises', () => {
  const declared = unionOf('ErrorCode');
  const raised = [...new Set([...rustCodes(), ...packageCodes()])].sort();
  assert.deepEqual(declared, raised,
    `declared but never raised: ${declared.filter((c) => !raised.includes(c))}; raised but not declared: ${raised.filter((c) => !declared.includes(c))}`);
});

const ERROR_CLASSES = ['LegoNetError', 'InvalidImageError', 'SampleIdError', 'SnapshotError', 'ReceiptError', 'AbortError', 'StorageError', 'DisposedError'];

test('each error class carries the codes its declaration gives, and errorFromCode picks it', () => {
  const all = unionOf('ErrorCode');
  for (const name of ERROR_CLASSES) {
    const { codes, codeFirst } = errorClass(name);
    for (const code of codes) {
      const e = codeFirst ? new pkg[name](code, 'message') : new pkg[name]('message');
      assert.ok(e instanceof pkg.LegoNetError && e instanceof Error, name);
      assert.equal(e.name, name);
      assert.equal(e.code, code);
    }
  }
  // What the worker sends back becomes the most specific declared class for its code.
  for (const code of all) {
    const owner = ERROR_CLASSES.slice(1).find((n) => errorClass(n).codes.includes(code)) ?? 'LegoNetError';
    const e = errorFromCode(code, 'message');
    assert.equal(e.name, owner, code);
    assert.equal(e.code, code);
  }
});
