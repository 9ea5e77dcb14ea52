// End-to-end test of the whole system with the patient web app in real
// Chromium: the real `espace up` (broker, identity, consent, agenda, edge
// serving clients/web/dist) on free ports in a temporary data folder, a
// professional set up with `espace admin` and `espace-pro`, and the patient
// driving the browser:
//   sign-up -> the professional's `espace-pro access request` -> "Mes
//   autorisations" shows it -> "Accepter" -> `espace-pro agenda create`
//   appears live in the open Agenda page -> "Révoquer" -> the very next
//   `espace-pro agenda list` is PERMISSION_DENIED -> "Qui a consulté mon
//   dossier" lists the allowed create/list and the denied list.
//
// Environment: ES_BIN as espace-up.mjs; ES_CHROMIUM, ES_WEB_DIST, ES_ARTIFACTS
// as browser.test.mjs.
// Run: cd clients/web && npm run test:browser
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import { addDays, dateValue, parisDate, parisWeek } from '../../clients/web/src/agenda-time.js';
import {
  newPage as libNewPage, shot, shotPhone, expectH1,
} from './lib.mjs';
import { WebSystem, RPPS, PRO_LABEL, skip } from './espace-up.mjs';

const INS = '279035121518989';

const world = new WebSystem('e2e');
let tmp;        // temporary folder: data, config, professional home
let sys;        // the EspaceUp in tmp
let context;
let page;
const problems = [];
const pro = (...args) => sys.pro(...args);

const newPage = (viewport = { width: 1280, height: 900 }) => libNewPage(context, problems, viewport);

async function openConsent(p) {
  await p.getByRole('link', { name: 'Mes autorisations' }).click();
  await expectH1(p, 'Mes autorisations');
  assert.match(p.url(), /#\/autorisations$/);
  await p.locator('#consent-pending:not(.loading)').waitFor({ timeout: 15000 });
  await p.locator('#audit-status:not(.loading)').waitFor({ state: 'attached', timeout: 15000 });
  assert.equal(await p.locator('#consent-alert').innerText(), '', 'an error on Mes autorisations');
}

/** Paris wall time of tomorrow at hh:mm, as espace-pro takes it. */
function tomorrowAt(hhmm) {
  return `${dateValue(addDays(parisDate(Date.now()), 1))}T${hhmm}`;
}

test.describe('end to end: espace up, espace-pro and the web app', { skip }, () => {
  test.before(async () => {
    await world.start();
    ({ tmp, sys, context } = world);
  });

  test.after(() => world.stop());

  test('the patient signs up and logs in', async () => {
    page = await newPage();
    await sys.signUp(page, { ins: INS, lastName: 'BERNARD', firstName: 'Sophie', birthDate: '1979-03-12' });
  });

  test('a professional\'s request appears in "Mes autorisations" and the patient accepts it', async () => {
    await openConsent(page);
    assert.equal(await page.locator('#consent-pending').innerText(), 'Aucune demande en attente.');
    assert.match(await page.locator('#audit-status').innerText(), /Personne d’autre que vous/);
    const rq = await pro('access', 'request', '--patient', INS, '--scope', 'agenda:read,agenda:write',
      '--purpose', 'soins', '--days', '30', '--reason', 'Suivi');
    assert.equal(rq.code, 0, `access request: ${rq.out}${rq.err}`);
    assert.match(rq.out, /^requested access [0-9a-f]{32}: proposed/);

    await page.locator('#consent-refresh').click();
    const item = page.locator('#grants-pending > li');
    await item.first().waitFor({ timeout: 10000 });
    assert.equal(await item.count(), 1);
    const text = await item.innerText();
    assert.match(text, new RegExp(`RPPS ${RPPS}`));
    assert.match(text, /Agenda : lecture et écriture/);
    assert.match(text, /Finalité\s+Soins/);
    assert.match(text, /Motif\s+Suivi/);
    assert.match(text, /Période\s+Du \d+ \S+ \d{4} au \d+ \S+ \d{4}/);
    await shot(page, '20-autorisations-demande');
    await shotPhone(page, '21-autorisations-demande-mobile');

    await item.getByRole('button', { name: `Accepter la demande du ${PRO_LABEL}` }).click();
    await page.locator('#consent-live', { hasText: 'Vous avez accepté la demande' }).waitFor({ timeout: 10000 });
    await page.locator('#grants-active > li').first().waitFor({ timeout: 10000 });
    assert.match(await page.locator('#grants-active').innerText(), /Agenda : lecture et écriture/);
    assert.equal(await page.locator('#consent-pending').innerText(), 'Aucune demande en attente.');
    const st = await pro('access', 'status', '--patient', INS);
    assert.equal(st.code, 0, `access status: ${st.out}${st.err}`);
    assert.match(st.out, /agenda:read,agenda:write\s+active/);
  });

  test('the professional\'s appointment shows live in the open Agenda page', async () => {
    await page.getByRole('link', { name: 'Agenda', exact: true }).click();
    await expectH1(page, 'Mon agenda');
    await page.locator('ol.week > li.day').first().waitFor({ timeout: 15000 });
    const tomorrow = addDays(parisDate(Date.now()), 1);
    const week = parisWeek(Date.now());
    if (!week.days.some((d) => dateValue(d.date) === dateValue(tomorrow))) {
      await page.getByRole('button', { name: 'Semaine suivante' }).click();
    }
    const column = page.locator(`ol.week > li.day[data-date="${dateValue(tomorrow)}"]`);
    await column.waitFor({ timeout: 10000 });
    // the page is open and idle before the professional writes
    assert.equal(await column.locator('button.event', { hasText: 'Consultation' }).count(), 0);
    const cr = await pro('agenda', 'create', '--patient', INS, '--kind', 'rdv', '--title', 'Consultation',
      '--start', tomorrowAt('10:00'), '--end', tomorrowAt('10:30'));
    assert.equal(cr.code, 0, `agenda create: ${cr.out}${cr.err}`);
    assert.match(cr.out, /^created [0-9a-f]{32} version 1$/m);
    const ev = column.locator('button.event', { hasText: 'Consultation' });
    await ev.waitFor({ timeout: 5000 }); // live, no reload
    assert.match(await ev.innerText(), /10:00/);
    const ls = await pro('agenda', 'list', '--patient', INS);
    assert.equal(ls.code, 0, `agenda list: ${ls.out}${ls.err}`);
    assert.match(ls.out, /rdv {2}booked {2}Consultation/);
  });

  test('revoking in the app denies the very next request, and the trail shows it all', async () => {
    await openConsent(page);
    const active = page.locator('#grants-active > li');
    await active.first().waitFor({ timeout: 10000 });
    await active.getByRole('button', { name: `Révoquer l’autorisation du Dr Claire Martin (médecin, RPPS ${RPPS})` }).click();
    await active.getByRole('button', { name: 'Oui, révoquer' }).click(); // revoking asks first
    await page.locator('#consent-live', { hasText: 'est révoquée' }).waitFor({ timeout: 10000 });
    await page.locator('#grants-past > li').first().waitFor({ timeout: 10000 });
    assert.match(await page.locator('#grants-past').innerText(), /Retirée le/);
    assert.match(await page.locator('#consent-active').innerText(), /aucune autorisation en cours/);

    const denied = await pro('agenda', 'list', '--patient', INS);
    assert.equal(denied.code, 1, `agenda list after revocation: ${denied.out}${denied.err}`);
    assert.match(denied.out + denied.err, /error: PERMISSION_DENIED/);

    await page.locator('#consent-refresh').click();
    await page.waitForFunction(() => document.querySelectorAll('#audit-list > li.denied').length > 0, null, { timeout: 10000 });
    const lines = await page.locator('#audit-list > li').evaluateAll((els) => els.map((e) => ({
      cls: e.className,
      text: e.innerText,
      seq: Number(e.dataset.seq),
    })));
    // newest first
    for (let i = 1; i < lines.length; i++) assert.ok(lines[i - 1].seq > lines[i].seq, 'trail not newest first');
    const who = new RegExp(`RPPS ${RPPS}`);
    assert.ok(lines.every((l) => who.test(l.text)), 'an entry without the professional');
    const newest = lines[0];
    assert.match(newest.cls, /denied/);
    assert.match(newest.text, /refusé/);
    assert.match(newest.text, /Agenda : lecture/);
    assert.ok(lines.some((l) => /allowed/.test(l.cls) && /autorisé/.test(l.text) && /Agenda : écriture/.test(l.text)),
      'the allowed create is not in the trail');
    assert.ok(lines.some((l) => /allowed/.test(l.cls) && /Agenda : lecture/.test(l.text)),
      'the allowed list is not in the trail');
    assert.match(newest.text, /\d+ \S+ \d{4} à \d{2}:\d{2}/); // French date, Paris time
    await shot(page, '22-autorisations');
    await shotPhone(page, '23-autorisations-mobile');
  });

  test('an emergency access (declared by INS) is highlighted in the trail', async () => {
    const em = await pro('emergency', '--patient', INS, '--reason', 'Patient inconscient aux urgences');
    assert.equal(em.code, 0, `emergency: ${em.out}${em.err}`);
    assert.match(em.out, /^emergency access to patient [0-9a-f]{32} until /);
    // The open page updates live (ConsentNotice); a refresh shows the same.
    await page.locator('#consent-refresh').click();
    await page.waitForFunction(() => document.querySelector('#audit-list > li')?.classList.contains('emergency'), null, { timeout: 10000 });
    const newest = page.locator('#audit-list > li').first();
    assert.match(await newest.getAttribute('class'), /emergency/);
    const text = await newest.innerText();
    assert.match(text, /Accès en urgence/);
    assert.match(text, /Déclaration d’un accès en urgence/);
    assert.doesNotMatch(text, /inconscient/); // the free-text reason is not shown
    await shot(page, '24-autorisations-urgence');
    assert.deepEqual(problems, []);
  });
});
