// Rules of the web app's source tree (docs/web.md, "Layout"), checked by
// reading clients/web/src:
// - a screen imports no other screen: a file under src/screens/ may import
//   the shared modules of src/ and the parts of its own screen (the files of
//   its folder, e.g. src/screens/agenda/), never another screen. What two
//   screens share lives in a module outside src/screens/.
// - enums come from the schema: no file of src/ copies a protobuf enum's
//   numbers (a table of NAME: number, a constant named after an enum value,
//   a label table keyed by numbers); src/enums.js reads them from the schema
//   and French labels are keyed by value name.
// Run: cd clients/web && npm test
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.ES_WEB_DIR || path.resolve(here, '../../clients/web');
const srcDir = path.join(webDir, 'src');
const screensDir = path.join(srcDir, 'screens');
const { loadRoot } = await import(path.join(webDir, 'scripts/schema.mjs'));

/** Every .js file under `dir`, recursively. */
function jsFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return jsFiles(p);
    return e.name.endsWith('.js') ? [p] : [];
  });
}

/** The module specifiers of static imports, re-exports and dynamic imports in `text`. */
export function importSpecifiers(text) {
  const out = [];
  const re = /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*(?:\(\s*)?['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(re)) out.push(m[1] || m[2]);
  return out;
}

/** The screen a file belongs to: "login" for screens/login.js, "agenda" for screens/agenda/form.js; null outside. */
function screenOf(file) {
  const rel = path.relative(screensDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.split(path.sep)[0].replace(/\.js$/, '');
}

/** "<file> imports <target>" for each import of a file under src/screens/ that reaches another screen. */
function crossScreenImports(file, text) {
  const own = screenOf(file);
  if (!own) return [];
  const bad = [];
  for (const spec of importSpecifiers(text)) {
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec);
    const other = screenOf(target);
    if (other && other !== own) bad.push(`${path.relative(srcDir, file)} imports ${path.relative(srcDir, target)}`);
  }
  return bad;
}

test('rules: the import scanner sees static, re-export and dynamic imports', () => {
  const text = [
    "import { h } from '../dom.js';",
    "import {\n  a,\n  b,\n} from './signup.js';",
    "import * as x from './home.js'",
    "export { reminderText } from './agenda/event.js';",
    "import './side-effect.js';",
    "const m = await import('./consent.js');",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text),
    ['../dom.js', './signup.js', './home.js', './agenda/event.js', './side-effect.js', './consent.js']);
  const login = path.join(screensDir, 'login.js');
  assert.deepEqual(crossScreenImports(login, text), [
    'screens/login.js imports screens/signup.js',
    'screens/login.js imports screens/home.js',
    'screens/login.js imports screens/agenda/event.js',
    'screens/login.js imports screens/side-effect.js',
    'screens/login.js imports screens/consent.js',
  ]);
  // the parts of one screen may import each other
  const form = path.join(screensDir, 'agenda', 'form.js');
  assert.deepEqual(crossScreenImports(form, "import { x } from './view.js';\nimport { fr } from '../../i18n/fr.js';"), []);
});

test('rules: a screen imports no other screen', () => {
  const files = jsFiles(screensDir);
  assert.ok(files.length >= 6, 'the screens are found');
  const bad = files.flatMap((f) => crossScreenImports(f, fs.readFileSync(f, 'utf8')));
  assert.deepEqual(bad, [], 'move what screens share into a module outside src/screens/');
});

/** Every value name of every enum of the .proto files the app bundles. */
function enumValueNames() {
  const names = [];
  const walk = (ns) => {
    for (const obj of ns.nestedArray) {
      if (obj.values && !obj.fields) names.push(...Object.keys(obj.values));
      if (obj.nestedArray) walk(obj);
    }
  };
  walk(loadRoot());
  return names;
}
const VALUE_NAMES = enumValueNames();

/** What in `text` (comments left out) looks like an enum's numbers copied by hand. */
function handCopiedEnums(source) {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  const bad = [];
  // a table of upper-case names to numbers: { RDV: 1, HOSPITALISATION: 2 }, { OK: 0, ... }
  for (const m of text.matchAll(/[{,]\s*([A-Z][A-Z0-9_]*)\s*:\s*-?\d+\s*(?=[,}])/g)) bad.push(`${m[1]}: <number>`);
  // a constant named after an enum value: const AUDIT_EMERGENCY = 2, const SOURCE_PATIENT = 1
  for (const m of text.matchAll(/\b(?:const|let|var)\s+([A-Z][A-Z0-9_]*)\s*=\s*-?\d+\b/g)) {
    const n = m[1];
    if (VALUE_NAMES.some((v) => v === n || (n.includes('_') && v.endsWith(`_${n}`)))) bad.push(`${n} = <number>`);
  }
  // a table keyed by numbers: { 1: 'Rendez-vous' }, { 1: (id) => ... }
  for (const m of text.matchAll(/[{,]\s*(\d+)\s*:/g)) bad.push(`${m[1]}: <value>`);
  return bad;
}

test('rules: the hand-copied enum scanner knows the old ways', () => {
  assert.ok(VALUE_NAMES.includes('AGENDA_STATUS_CANCELLED') && VALUE_NAMES.includes('CODE_OK'));
  const copied = [
    'const KIND = { RDV: 1, HOSPITALISATION: 2 };',
    'export const Code = Object.freeze({\n  OK: 0,\n  INVALID_ARGUMENT: 1,\n});',
    'const SOURCE_PATIENT = 1;',
    'const CHANGE_DELETED = 4;',
    'const AUDIT_EMERGENCY = 2;',
    "kinds: {\n  1: 'Rendez-vous',\n},",
    "actor: { 1: (id) => `RPPS ${id}`, 3: () => 'Vous' },",
  ];
  for (const text of copied) assert.notDeepEqual(handCopiedEnums(text), [], text);
  const fine = [
    'const PAGE = 500;', 'const WS_OPEN = 1;', "const st = status || { code: Code.OK, message: '' };",
    '  timeoutMs: 10000,', "const Status = enumConstants('espace.v1.AgendaStatus', 'AGENDA_STATUS_');",
    "kinds: { AGENDA_KIND_RDV: 'Rendez-vous' },", 'f(a, 1);', 'x ? 1 : 2',
    '// last Sunday of October, 01:00 UTC', '/* { RDV: 1 } */',
  ];
  for (const text of fine) assert.deepEqual(handCopiedEnums(text), [], text);
});

test('rules: no file of src/ copies an enum\'s numbers', () => {
  const bad = jsFiles(srcDir).flatMap((f) => handCopiedEnums(fs.readFileSync(f, 'utf8'))
    .map((what) => `${path.relative(srcDir, f)}: ${what}`));
  assert.deepEqual(bad, [], 'read enum values from the schema (src/enums.js) and key labels by value name');
});
