// "Nouveau message" (issue 10): the patient starts a conversation, in real
// Chromium against the real `espace up` (espace-up.mjs), and the real
// espace-pro receives it. Scenario:
//   sign-up -> "Nouveau message" lists no professional -> `espace-pro
//   access request --scope messaging:write` -> "Accepter" in "Mes
//   autorisations", whose trail shows espace-pro's INS resolution (issue 11
//   section 5) -> `espace-pro msg keys` -> "Nouveau message" lists the
//   professional; "Écrire" starts the conversation and opens its thread ->
//   the patient's first message: `msg inbox` prints it, decrypted, in that
//   conversation -> espace-pro answers there, live in the page -> "Nouveau
//   message" again opens the same conversation (no second one).
// A patient naming a professional without the grant is refused by the
// service with nothing stored: test/service/test_messaging_start.c.
// Environment: as e2e.test.mjs. Run: cd clients/web && npm run test:browser
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  newPage as libNewPage, shot, expectH1,
} from './lib.mjs';
import { WebSystem, RPPS, skip } from './espace-up.mjs';

const INS = '185057512301232';
const MARK_PATIENT = 'MARQUEUR-NOUVEAU-PATIENT-c51a';
const MARK_PRO = 'MARQUEUR-NOUVEAU-PRO-7be2';
const PRO_NAME = `Dr Claire Martin (médecin, RPPS ${RPPS})`; // as espace-pro declared it, with the RPPS

const world = new WebSystem('msg-start');
let tmp;
let sys;
let context;
let page;
let convId;
const problems = [];

const newPage = (viewport = { width: 1280, height: 900 }) => libNewPage(context, problems, viewport);

const msg = (...args) => sys.msg(...args);
const inboxUntil = (re, what) => sys.inboxUntil(re, what);

async function openMessagerie() {
  await page.getByRole('link', { name: 'Messagerie' }).click();
  await expectH1(page, 'Messagerie');
  await page.locator('#msg-status', { hasText: 'Vous êtes à jour' }).waitFor({ timeout: 15000 });
}

test.describe('Nouveau message: the patient starts, espace-pro receives', { skip }, () => {
  test.before(async () => {
    await world.start();
    ({ tmp, sys, context } = world);
  });

  test.after(() => world.stop());

  test('without a messaging grant, "Nouveau message" lists no professional', async () => {
    page = await newPage();
    await sys.signUp(page, { ins: INS, lastName: 'GIRARD', firstName: 'Paul', birthDate: '1985-05-14' });
    await openMessagerie();
    await page.locator('#new-message', { hasText: 'Aucun professionnel' }).waitFor({ timeout: 10000 });
  });

  test('the patient grants messaging; espace-pro publishes its device keys', async () => {
    await sys.requestAccepted(page, INS, 'messaging:write');
    // espace-pro resolved the INS (identity ResolvePatient): the trail shows it, by the professional
    await page.getByRole('link', { name: 'Messagerie' }).click(); // away and back: the trail reloads
    await expectH1(page, 'Messagerie');
    await page.getByRole('link', { name: 'Mes autorisations' }).click();
    await expectH1(page, 'Mes autorisations');
    const resolved = page.locator('li.audit-entry', { hasText: 'Recherche de votre identifiant espace' });
    await resolved.first().waitFor({ timeout: 10000 });
    assert.match(await resolved.first().innerText(), new RegExp(RPPS));
    const keys = await msg('keys');
    assert.match(keys.out, /device [0-9a-f]{32}/);
  });

  test('"Nouveau message" starts the conversation; espace-pro reads the first message', async () => {
    await openMessagerie();
    const select = page.locator('#new-pro');
    await select.waitFor({ timeout: 10000 });
    assert.equal(await select.inputValue(), RPPS);
    await select.locator('option', { hasText: PRO_NAME }).waitFor({ state: 'attached', timeout: 10000 }); // by name
    await page.getByRole('button', { name: 'Écrire' }).click();
    await expectH1(page, `Conversation avec le ${PRO_NAME}`);
    convId = /#\/messagerie\/([0-9a-f]{32})$/.exec(page.url())?.[1];
    assert.ok(convId, `not a thread: ${page.url()}`);
    await page.getByLabel('Votre message').fill(`${MARK_PATIENT} Bonjour docteur, une question sur mon traitement.`);
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.locator('#compose-msg', { hasText: 'Message envoyé' }).waitFor({ timeout: 20000 });
    const out = await inboxUntil(new RegExp(MARK_PATIENT), 'the patient\'s first message');
    assert.match(out, new RegExp(`${convId}  patient:[0-9a-f]{32}  ${MARK_PATIENT} Bonjour docteur`));
    await shot(page, '46-nouveau-message');
  });

  test('espace-pro answers in it, live; "Nouveau message" opens the same conversation', async () => {
    await msg('send', '--conversation', convId, '--text', `${MARK_PRO} Bonjour, je vous rappelle demain.`);
    const theirs = page.locator('#thread > li.msg.theirs');
    await theirs.first().waitFor({ timeout: 15000 }); // live: no reload
    assert.match(await theirs.innerText(), new RegExp(MARK_PRO));
    await openMessagerie();
    assert.equal(await page.locator('#conv-list li.conv').count(), 1);
    await page.locator('#new-pro').waitFor({ timeout: 10000 });
    await page.getByRole('button', { name: 'Écrire' }).click();
    await expectH1(page, `Conversation avec le ${PRO_NAME}`);
    assert.ok(page.url().endsWith(`#/messagerie/${convId}`), page.url());
    assert.deepEqual(problems, []);
  });
});
