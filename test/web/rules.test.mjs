// Rules of the web app's source tree (docs/web.md, "Layout"), checked by
// reading clients/web/src:
// - a screen imports no other screen: a file under src/screens/ may import
//   the shared modules of src/ and the parts of its own screen (the files of
//   its folder, e.g. src/screens/agenda/), never another screen. What two
//   screens share lives in a module outside src/screens/.
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
