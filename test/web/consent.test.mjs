// "Mes autorisations" live (issues 11 §5 and 13): a patient in real
// Chromium, a professional with the real espace-pro, against the real
// `espace up` (espace-up.mjs). Scenario, the page staying open throughout:
//   the professional requests access -> the request appears without a
//   reload, named "Dr Claire Martin (médecin, RPPS …)" -> they declare an
//   emergency -> it appears live in "Accès en urgence en cours" and in the
//   trail -> their agenda read is allowed -> the patient ends it -> the next
//   read is denied, the trail shows the end -> the patient accepts the
//   request; a new emergency; revoking asks for confirmation (cancel, then
//   confirm) and says what still applies (the emergency) and that what was
//   read cannot be taken back -> on another screen a new request shows as a
//   notice with a link here.
// Also, without a browser: dates in French ("1er décembre") and the phrases
// around a professional's name.
// Environment: as e2e.test.mjs. Run: cd clients/web && npm run test:browser
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  newPage as libNewPage, shot, shotPhone, expectH1,
} from './lib.mjs';
import { WebSystem, RPPS, skip } from './espace-up.mjs';
import { fr } from '../../clients/web/src/i18n/fr.js';

const INS = '279035121518989';
const DR = `Dr Claire Martin (médecin, RPPS ${RPPS})`;
const DR_OF = `du ${DR}`;

test('French dates: "1er" for the first of the month, Paris time', () => {
  assert.equal(fr.time.date(new Date('2026-12-01T10:00:00Z')), '1er décembre 2026');
  assert.equal(fr.time.dateTime(new Date('2026-12-01T10:00:00Z')), '1er décembre 2026 à 11:00');
  assert.equal(fr.time.date(new Date('2026-12-11T10:00:00Z')), '11 décembre 2026');
  assert.equal(fr.time.date(new Date('2026-11-30T23:30:00Z')), '1er décembre 2026'); // already the 1st in Paris
});

test('a professional in French: name, profession, RPPS; "du Dr", "de", "d’un"', () => {
  const T = fr.consent.pro;
  const dr = { rpps: RPPS, name: 'Claire Martin', profession: 'Médecin' };
  assert.equal(T.label(dr), DR);
  assert.equal(T.of(dr), DR_OF);
  assert.equal(T.subject(dr), 'Le Dr Claire Martin');
  const nurse = { rpps: RPPS, name: 'Paul Durand', profession: 'Infirmier' };
  assert.equal(T.of(nurse), `de Paul Durand (infirmier, RPPS ${RPPS})`);
  assert.equal(T.subject(nurse), 'Paul Durand');
  const unknown = { rpps: RPPS, name: '', profession: '' };
  assert.equal(T.label(unknown), `Professionnel de santé (RPPS ${RPPS})`);
  assert.equal(T.of(unknown), `d’un professionnel de santé (RPPS ${RPPS})`);
});

const world = new WebSystem('consent');
let tmp;
let sys;
let context;
let page;
const problems = [];
const pro = (...args) => sys.pro(...args);
const newPage = (viewport = { width: 1280, height: 900 }) => libNewPage(context, problems, viewport);

/** espace-pro agenda list on the patient: 'allowed' or 'denied' (anything else fails). */
async function agendaRead() {
  const r = await pro('agenda', 'list', '--patient', INS);
  if (r.code === 0) return 'allowed';
  assert.match(r.out + r.err, /PERMISSION_DENIED/, `agenda list: ${r.out}${r.err}`);
  return 'denied';
}

test.describe('Mes autorisations live: requests and emergency accesses', { skip }, () => {
  test.before(async () => {
    await world.start();
    ({ tmp, sys, context } = world);
  });

  test.after(() => world.stop());

  test('a request and an emergency appear live, by name; the patient ends the emergency', async () => {
    page = await newPage();
    await sys.signUp(page, { ins: INS, lastName: 'MOREAU', firstName: 'Léa', birthDate: '1979-03-02' });
    await page.getByRole('link', { name: 'Mes autorisations' }).click();
    await expectH1(page, 'Mes autorisations');
    await page.locator('#consent-pending:not(.loading)').waitFor({ timeout: 15000 });
    assert.equal(await page.locator('#consent-emergencies').innerText(), 'Aucun accès en urgence en cours.');
    assert.equal(await page.locator('#consent-pending').innerText(), 'Aucune demande en attente.');

    // the request, live: no click on "Actualiser"
    const rq = await pro('access', 'request', '--patient', INS, '--scope', 'agenda:read',
      '--purpose', 'soins', '--days', '30', '--reason', 'Suivi de la tension');
    assert.equal(rq.code, 0, `access request: ${rq.out}${rq.err}`);
    await page.locator('#consent-live', { hasText: `Nouvelle demande d’accès ${DR_OF}.` }).waitFor({ timeout: 10000 });
    const item = page.locator('#grants-pending > li');
    await item.first().waitFor({ timeout: 10000 });
    assert.equal(await item.locator('h3').innerText(), DR);
    assert.match(await item.innerText(), /Motif\s+Suivi de la tension/);
    await shot(page, '40-autorisations-demande-en-direct');

    // the emergency, live, with who, since, until and why
    assert.equal(await agendaRead(), 'denied');
    const em = await pro('emergency', '--patient', INS, '--reason', 'Patient inconscient aux urgences');
    assert.equal(em.code, 0, `emergency: ${em.out}${em.err}`);
    assert.match(em.out, /the patient sees it at once in their space and may end it/);
    await page.locator('#consent-live', { hasText: 'Le Dr Claire Martin a déclaré un accès en urgence à votre dossier.' })
      .waitFor({ timeout: 10000 });
    const emergency = page.locator('#emergencies-active > li');
    await emergency.first().waitFor({ timeout: 10000 });
    assert.equal(await emergency.count(), 1);
    const etext = await emergency.innerText();
    assert.match(etext, new RegExp(`Dr Claire Martin \\(médecin, RPPS ${RPPS}\\)`));
    assert.match(etext, /Depuis le\s+\S+ \S+ \d{4} à \d{2}:\d{2}/);
    assert.match(etext, /Jusqu’au\s+\S+ \S+ \d{4} à \d{2}:\d{2}/);
    assert.match(etext, /Motif\s+Patient inconscient aux urgences/);
    await page.waitForFunction(() => /Déclaration d’un accès en urgence/.test(document.querySelector('#audit-list')?.innerText || ''),
      null, { timeout: 10000 });
    assert.match(await page.locator('#audit-list > li').first().innerText(), new RegExp(`Qui\\s+Dr Claire Martin`));
    await shot(page, '41-autorisations-urgence-en-direct');
    await shotPhone(page, '42-autorisations-urgence-mobile');

    // the emergency allows reading; ended by the patient, it no longer does
    assert.equal(await agendaRead(), 'allowed');
    await emergency.getByRole('button', { name: `Mettre fin à l’accès en urgence ${DR_OF}` }).click();
    await page.locator('#consent-live', { hasText: `L’accès en urgence ${DR_OF} a pris fin` }).waitFor({ timeout: 10000 });
    await page.locator('#consent-emergencies', { hasText: 'Aucun accès en urgence en cours.' }).waitFor({ timeout: 10000 });
    assert.equal(await agendaRead(), 'denied');
    await page.locator('#consent-refresh').click();
    await page.waitForFunction(() => /Fin de l’accès en urgence/.test(document.querySelector('#audit-list')?.innerText || ''),
      null, { timeout: 10000 });
    const trail = await page.locator('#audit-list').innerText();
    assert.match(trail, new RegExp(`Fin de l’accès en urgence du Dr Claire Martin`));
    await shot(page, '43-autorisations-urgence-terminee');
  });

  test('revoking asks first and says what still applies', async () => {
    const item = page.locator('#grants-pending > li');
    await item.getByRole('button', { name: `Accepter la demande ${DR_OF}` }).click();
    await page.locator('#consent-live', { hasText: `Vous avez accepté la demande ${DR_OF}.` }).waitFor({ timeout: 10000 });
    const em = await pro('emergency', '--patient', INS, '--reason', 'Nouvelle urgence');
    assert.equal(em.code, 0, `emergency: ${em.out}${em.err}`);
    await page.locator('#emergencies-active > li').first().waitFor({ timeout: 10000 });

    const active = page.locator('#grants-active > li');
    await active.first().waitFor({ timeout: 10000 });
    assert.equal(await active.locator('h3').innerText(), DR);
    // cancel: nothing changes
    await active.getByRole('button', { name: `Révoquer l’autorisation ${DR_OF}` }).click();
    const confirm = active.locator('.confirm');
    await confirm.waitFor({ timeout: 5000 });
    assert.match(await confirm.innerText(), new RegExp(`Révoquer l’autorisation ${DR_OF.replace(/[()]/g, '\\$&')}\\s\\?`));
    await shot(page, '44-autorisations-confirmer-revocation');
    await confirm.getByRole('button', { name: 'Annuler' }).click();
    await confirm.waitFor({ state: 'detached', timeout: 5000 });
    assert.equal(await agendaRead(), 'allowed');
    // confirm
    await active.getByRole('button', { name: `Révoquer l’autorisation ${DR_OF}` }).click();
    await active.getByRole('button', { name: 'Oui, révoquer' }).click();
    const said = page.locator('#consent-live');
    await said.locator('text=est révoquée').waitFor({ timeout: 10000 });
    const text = await said.innerText();
    assert.match(text, /Le Dr Claire Martin garde un accès en urgence jusqu’au \S+ \S+ \d{4} à \d{2}:\d{2}/);
    assert.match(text, /Ce qui a déjà été consulté avant le retrait ne peut pas être repris\./);
    await page.locator('#consent-active', { hasText: 'aucune autorisation en cours' }).waitFor({ timeout: 10000 });
    await shot(page, '45-autorisations-revoquee-ce-qui-reste');
    // the emergency still reads; ended, nothing does
    assert.equal(await agendaRead(), 'allowed');
    await page.locator('#emergencies-active > li').getByRole('button', { name: `Mettre fin à l’accès en urgence ${DR_OF}` }).click();
    await page.locator('#consent-emergencies', { hasText: 'Aucun accès en urgence en cours.' }).waitFor({ timeout: 10000 });
    assert.equal(await agendaRead(), 'denied');
  });

  test('on another screen, a new request shows as a notice leading here', async () => {
    await page.getByRole('link', { name: 'Accueil' }).click();
    await expectH1(page, 'Bonjour');
    const rq = await pro('access', 'request', '--patient', INS, '--scope', 'agenda:read',
      '--purpose', 'soins', '--days', '7', '--reason', 'Contrôle');
    assert.equal(rq.code, 0, `access request: ${rq.out}${rq.err}`);
    const n = page.locator('#reminders .notice', { hasText: `Nouvelle demande d’accès ${DR_OF}.` });
    await n.waitFor({ timeout: 10000 });
    await shot(page, '46-accueil-notification-demande');
    await n.getByRole('link', { name: 'Voir le détail' }).click();
    await expectH1(page, 'Mes autorisations');
    await page.locator('#grants-pending > li').first().waitFor({ timeout: 10000 });
    assert.deepEqual(problems, []);
  });
});
