// Messagerie between the two real clients, live (issue 10): a patient in
// real Chromium and the real espace-pro binary, against the real
// `espace up` (espace-up.mjs). Nothing is played in Node: the page and
// espace-pro only share the content format (docs/messaging.md "Message
// content") and the attachment sealing. Scenario:
//   sign-up -> `espace-pro access request --scope messaging:write` ->
//   "Accepter" in "Mes autorisations" -> `espace-pro msg keys` ->
//   `msg send --patient INS` shows live in the open Messagerie page ->
//   the page's read receipt: `msg inbox` prints it, `msg read` shows "(lu)"
//   -> `msg attach`: the page downloads and decrypts the same file -> the
//   patient answers with a text and an attachment: `msg inbox` prints the
//   text and saves the file, byte for byte the original -> no plaintext
//   marker in the data folder.
// Environment: as e2e.test.mjs. Run: cd clients/web && npm run test:browser
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  newPage as libNewPage, shot, expectH1, filesUnder,
} from './lib.mjs';
import { WebSystem, RPPS, skip } from './espace-up.mjs';

const INS = '279035121518989';
const MARK_PRO = 'MARQUEUR-LIVE-PRO-3e8d1b';
const MARK_PATIENT = 'MARQUEUR-LIVE-PATIENT-a47c02';
const MARK_FILE_PRO = 'MARQUEUR-LIVE-FICHIER-PRO-9d20';
const MARK_FILE_PATIENT = 'MARQUEUR-LIVE-FICHIER-PATIENT-61fe';

const world = new WebSystem('msg-live');
let tmp;
let sys;
let context;
let page;
let convId;
const problems = [];

const blake2b = (bytes) => crypto.createHash('blake2b512').update(bytes).digest('hex'); // comparison only
const newPage = (viewport = { width: 1280, height: 900 }) => libNewPage(context, problems, viewport);

const msg = (...args) => sys.msg(...args);
const inboxUntil = (re, what) => sys.inboxUntil(re, what);

test.describe('Messagerie live: a browser patient and espace-pro', { skip }, () => {
  test.before(async () => {
    await world.start({ chromium: { acceptDownloads: true } });
    ({ tmp, sys, context } = world);
  });

  test.after(() => world.stop());

  test('the patient signs up and grants messaging to the professional in "Mes autorisations"', async () => {
    page = await newPage();
    await sys.signUp(page, { ins: INS, lastName: 'MOREAU', firstName: 'Léa', birthDate: '1979-03-02' });
    assert.match(await sys.requestAccepted(page, INS, 'messaging:write'), /Messagerie : écriture/);
    const st = await sys.pro('access', 'status', '--patient', INS);
    assert.match(st.out, /messaging:write\s+active/, `${st.out}${st.err}`);
  });

  test('espace-pro writes: the message shows live in the open Messagerie page', async () => {
    const keys = await msg('keys');
    assert.match(keys.out, /device [0-9a-f]{32}/);
    await page.getByRole('link', { name: 'Messagerie' }).click();
    await expectH1(page, 'Messagerie');
    await page.locator('#msg-status', { hasText: 'Vous êtes à jour' }).waitFor({ timeout: 15000 });
    const sent = await msg('send', '--patient', INS, '--text', `${MARK_PRO} Bonjour, vos résultats sont arrivés.`);
    assert.match(sent.out, /^sent [0-9a-f]{32} to 1 device/m);
    convId = /new conversation ([0-9a-f]{32})/.exec(sent.err)?.[1];
    assert.ok(convId, `no new conversation in: ${sent.err}`);
    const item = page.locator(`#conv-list li[data-id="${convId}"]`);
    await item.waitFor({ timeout: 10000 }); // live: no reload
    await item.locator('.badge', { hasText: '1 non lu' }).waitFor({ timeout: 10000 });
    assert.match(await item.innerText(), /vos résultats sont arrivés/);
    // by the name espace-pro declared, with the RPPS (src/people.js)
    await item.locator('.item-title', { hasText: `Dr Claire Martin (médecin, RPPS ${RPPS})` }).waitFor({ timeout: 10000 });
  });

  test('the page shows the decrypted message; its read receipt reaches espace-pro ("lu")', async () => {
    await page.locator(`#conv-list li[data-id="${convId}"] a`).click();
    await expectH1(page, `Conversation avec le Dr Claire Martin (médecin, RPPS ${RPPS})`);
    const theirs = page.locator('#thread > li.msg.theirs');
    await theirs.first().waitFor({ timeout: 10000 });
    assert.match(await theirs.innerText(), new RegExp(`${MARK_PRO} Bonjour`));
    assert.equal(await theirs.first().locator('.msg-who').innerText(), `Dr Claire Martin (médecin, RPPS ${RPPS})`);
    const out = await inboxUntil(/ read 1 message\n/, 'the read receipt');
    assert.match(out, new RegExp(`${convId}  patient:[0-9a-f]{32}  read 1 message`));
    const rd = await msg('read', '--conversation', convId);
    assert.match(rd.out, new RegExp(`> rpps:${RPPS}  ${MARK_PRO} Bonjour.*\\(lu\\)`));
  });

  test('espace-pro attaches a file: the page downloads and decrypts the same bytes', async () => {
    const file = path.join(tmp, 'compte-rendu.pdf');
    const original = Buffer.concat([Buffer.from(`${MARK_FILE_PRO}\n`), crypto.randomBytes(150000)]);
    fs.writeFileSync(file, original);
    await msg('attach', '--conversation', convId, '--file', file, '--text', 'Voici le compte rendu.');
    const btn = page.getByRole('button', { name: /Télécharger « compte-rendu\.pdf »/ });
    await btn.waitFor({ timeout: 10000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), btn.click()]);
    const saved = fs.readFileSync(await download.path());
    assert.equal(download.suggestedFilename(), 'compte-rendu.pdf');
    assert.equal(saved.length, original.length);
    assert.equal(blake2b(saved), blake2b(original));
    await page.locator('.att-status', { hasText: 'est déchiffré et enregistré' }).waitFor({ timeout: 5000 });
  });

  test('the patient answers with an attachment: espace-pro prints it and saves the same file', async () => {
    const original = Buffer.concat([Buffer.from(`${MARK_FILE_PATIENT}\n`), crypto.randomBytes(300000)]);
    await page.getByLabel('Joindre un fichier (20 Mo au plus)').setInputFiles({
      name: 'ordonnance.bin', mimeType: 'application/octet-stream', buffer: original,
    });
    await page.getByLabel('Votre message').fill(`${MARK_PATIENT} Merci docteur, voici mon ordonnance.`);
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.locator('#compose-msg', { hasText: 'Message envoyé' }).waitFor({ timeout: 20000 });
    const out = await inboxUntil(/attachment ordonnance\.bin -> /, 'the answer');
    assert.match(out, new RegExp(`${convId}  patient:[0-9a-f]{32}  ${MARK_PATIENT} Merci docteur`));
    const saved = /attachment ordonnance\.bin -> (\S+)/.exec(out)[1];
    assert.ok(saved.startsWith(path.join(tmp, 'received')), saved);
    assert.ok(fs.readFileSync(saved).equals(original), 'the saved attachment differs from the original');
    await shot(page, '45-messagerie-espace-pro');
  });

  test('no plaintext marker in any file of the data folder; no page error', () => {
    const files = filesUnder(sys.dataDir);
    assert.ok(files.length > 0, 'the data folder has files');
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const mark of [MARK_PRO, MARK_PATIENT, MARK_FILE_PRO, MARK_FILE_PATIENT, 'Merci docteur',
        'ordonnance.bin', 'compte-rendu']) {
        assert.equal(bytes.includes(Buffer.from(mark)), false, `${mark} in ${f}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
