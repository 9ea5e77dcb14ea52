// The README's own walk-through, with today's dates (issue 13, "done when"):
// the real `espace up` (test/web/espace-up.mjs) in a temporary folder; the
// shell block of README.md's "Trying it as a professional's software" run
// with bash as it is written, but for three adaptations (the build folder,
// the broker's port, a 1 s watch instead of 30 s); the patient's side in
// Chromium: sign-up and activation, the professional's request accepted in
// "Mes autorisations", then the appointment the README creates for tomorrow
// shown in the Agenda. A README step that stops working fails this test.
//
// Environment: as e2e.test.mjs (ES_BIN or ES_EDGE_HARNESS, ES_CHROMIUM,
// ES_WEB_DIST, ES_ARTIFACTS).
import './webcrypto.mjs';
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { addDays, dateValue, parisDate, parisWeek } from '../../clients/web/src/agenda-time.js';
import {
  repo, newPage as libNewPage, shot, expectH1,
} from './lib.mjs';
import { WebSystem, ESPACE, skip } from './espace-up.mjs';

const SCRIPT_TIMEOUT_MS = 60000;

/** The README's walk-through: the sh block under "Trying it as a
 *  professional's software", split where the patient acts in the browser. */
function readmeSteps(reqPort) {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Trying it as a professional'));
  assert.ok(section, 'README.md has no "Trying it as a professional\'s software" section');
  const block = section.match(/```sh\n([\s\S]*?)```/);
  assert.ok(block, 'no sh block in that section');
  const build = path.resolve(path.dirname(ESPACE), '..');
  let script = block[1];
  const adapt = (from, to) => {
    assert.ok(script.includes(from), `the README's walk-through no longer has '${from}'`);
    script = script.split(from).join(to);
  };
  adapt('B=build-release', `B='${build}'`);
  adapt('tcp://127.0.0.1:5570', `tcp://127.0.0.1:${reqPort}`);
  adapt('--seconds 30', '--seconds 1');
  const lines = script.split('\n');
  const cut = lines.findIndex((l) => /the patient accepts it/.test(l));
  assert.ok(cut > 0, 'the walk-through no longer says where the patient accepts the request');
  // the second part runs in a new shell: the plain assignments of the first come along
  const vars = lines.slice(0, cut).filter((l) => /^[A-Z_]+=[^$(]*$/.test(l.replace(/\s+#.*$/, '')));
  return {
    before: lines.slice(0, cut).join('\n'),
    after: [...vars, ...lines.slice(cut + 1)].join('\n'),
    ins: (script.match(/^P=(\d{15})/m) || [])[1],
  };
}

/** bash -e on `script` in `cwd` with `env` added: { code, out, err }. */
function bash(script, cwd, env) {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), SCRIPT_TIMEOUT_MS);
    p.on('error', reject);
    p.on('exit', (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}

const world = new WebSystem('readme');
let tmp;
let sys;
let context;
let page;
let steps;
let env;
const problems = [];

test.describe('the README walk-through, with today\'s dates', { skip }, () => {
  test.before(async () => {
    await world.start({ professional: false }); // writes <tmp>/espace.conf: the README's commands run in <tmp> read it
    ({ tmp, sys, context } = world);
    steps = readmeSteps(sys.reqPort);
    env = { ESPACE_PRO_HOME: path.join(tmp, 'readme-pro'), ESPACE_PWHASH: 'min' };
  });

  test.after(() => world.stop());

  test('the patient of the README signs up in the web app', async () => {
    assert.match(steps.ins || '', /^\d{15}$/, 'the README names the patient\'s INS (P=...)');
    page = await libNewPage(context, problems, { width: 1280, height: 900 });
    // the README's INS: a woman born in March 1979 (README, "The two commands")
    await sys.signUp(page, { ins: steps.ins, lastName: 'BERNARD', firstName: 'Sophie', birthDate: '1979-03-12' });
  });

  test('the README\'s first steps: keys, the professional, log-in, the access request', async () => {
    const r = await bash(steps.before, tmp, env);
    assert.equal(r.code, 0, `README steps failed:\n${r.out}\n${r.err}${sys.log()}`);
    assert.match(r.out, /logged in as 10002673899/);
    assert.match(r.out, /requested access [0-9a-f]{32}: proposed/);
  });

  test('the patient accepts the request in "Mes autorisations"', async () => {
    await page.getByRole('link', { name: 'Mes autorisations' }).click();
    await expectH1(page, 'Mes autorisations');
    const item = page.locator('#grants-pending > li');
    for (let i = 0; i < 50 && !(await item.count()); i += 1) {
      await page.locator('#consent-refresh').click();
      await page.waitForTimeout(200);
    }
    await item.first().waitFor({ timeout: 10000 });
    await item.first().getByRole('button', { name: /^Accepter/ }).click();
    await page.locator('#grants-active > li').first().waitFor({ timeout: 10000 });
  });

  test('the README\'s next steps: tomorrow\'s appointment, list, watch, emergency, audit', async () => {
    const r = await bash(steps.after, tmp, env);
    assert.equal(r.code, 0, `README steps failed:\n${r.out}\n${r.err}${sys.log()}`);
    const tomorrow = dateValue(addDays(parisDate(Date.now()), 1));
    assert.match(r.out, /^created [0-9a-f]{32} version 1$/m);
    // agenda list's default window holds what was just created, in Paris time with the offset
    assert.match(r.out, new RegExp(`^[0-9a-f]{32}  ${tomorrow} 10:00 \\+0[12]:00  rdv  booked  Consultation$`, 'm'));
    assert.match(r.out, /^emergency access to patient [0-9a-f]{32} until /m);
    assert.match(r.out, /^audit ok: \d+ entr(y|ies) in 1 chain$/m);
    assert.match(r.out, /logged out/);
  });

  test('the browser shows the README\'s appointment tomorrow at 10:00', async () => {
    await page.getByRole('link', { name: 'Agenda', exact: true }).click();
    await expectH1(page, 'Mon agenda');
    await page.locator('ol.week > li.day').first().waitFor({ timeout: 15000 });
    const tomorrow = addDays(parisDate(Date.now()), 1);
    if (!parisWeek(Date.now()).days.some((d) => dateValue(d.date) === dateValue(tomorrow))) {
      await page.getByRole('button', { name: 'Semaine suivante' }).click();
    }
    const ev = page.locator(`ol.week > li.day[data-date="${dateValue(tomorrow)}"] button.event`, { hasText: 'Consultation' });
    await ev.waitFor({ timeout: 15000 });
    assert.match(await ev.innerText(), /10:00 – 10:30/);
    await shot(page, '30-readme-agenda');
    await page.setViewportSize({ width: 390, height: 844 });
    await ev.waitFor();
    await shot(page, '31-readme-agenda-mobile');
  });

  test('no console error, page error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
