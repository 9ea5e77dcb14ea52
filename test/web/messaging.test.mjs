// "Messagerie" in real Chromium against the edge harness (broker, identity,
// consent, agenda, messaging and edge in one process). The professional's
// software is played here in Node with the app's own e2e modules (the JS
// X3DH + Double Ratchet, byte-compatible with es_e2e): it reaches the
// messaging service as a stamped professional device through the harness's
// "as-pro-msg" command. Scenario:
//   the patient logs in (the browser device publishes its bundle) -> the
//   professional gets a MESSAGING grant, starts a conversation, sends an
//   encrypted message -> it appears live in the open "Messagerie" page with
//   an unread count -> the thread shows it decrypted, the read receipt
//   reaches the professional -> the safety numbers match -> the patient
//   answers, the professional decrypts it -> an attachment each way, same
//   BLAKE2b on both sides -> no plaintext marker in the harness's data files.
// Environment: as browser.test.mjs. Run: cd clients/web && npm run test:browser
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  dist, chromiumPath, harnessSkip, startHarness, stopHarness, launchChromium, newPage as libNewPage,
  shot, expectH1, signUpAndLogin, harnessCode, req, filesUnder,
} from './lib.mjs';
import { webDir } from './lib.mjs';

const src = (p) => path.join(webDir, 'src', p);
const { Codec } = await import(src('pb.js'));
const { default: schema } = await import(src('schema.js'));
const { sodiumReady } = await import(src('crypto.js'));
const { e2eReady } = await import(src('e2e/kdf.js'));
const { identityGenerate, prekeyGenerate, prekeysGenerate, prekeyKind } = await import(src('e2e/prekeys.js'));
const { x3dhInitiate } = await import(src('e2e/x3dh.js'));
const { sessionEncrypt, sessionDecrypt } = await import(src('e2e/ratchet.js'));
const { safetyNumber } = await import(src('e2e/safety.js'));
const content = await import(src('messaging/content.js'));
const attach = await import(src('messaging/attach.js'));
const { bundleFromWire, fromHex } = await import(src('messaging/messenger.js'));
const { hex } = await import(src('dom.js'));

const skip = harnessSkip();
const codec = new Codec(schema);
const INS = '279035121518989';
const RPPS = '10001234567';
const PRO_DEV = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const MARK_PRO = 'MARQUEUR-PRO-7f3a9c';
const MARK_PATIENT = 'MARQUEUR-PATIENT-91c2d4';
const MARK_FILE_PRO = 'MARQUEUR-FICHIER-PRO-55e1';
const MARK_FILE_PATIENT = 'MARQUEUR-FICHIER-PATIENT-0b7f';

let edge;
let context;
let profileDir;
let page;
let patientId;
let dataDir;
const problems = [];
const pro = { sessions: new Map() }; // the professional's device: identity, prekeys, sessions

/** messaging <method> as the professional's device, through the harness. */
async function proCall(method, request = {}) {
  const body = codec.encode(`espace.v1.${method}Request`, request);
  const line = await edge.command(`as-pro-msg ${RPPS} ${PRO_DEV} ${method} ${body.length ? Buffer.from(body).toString('base64') : '-'}`);
  const m = /^ok (\S+)$/.exec(line);
  if (!m) throw Object.assign(new Error(`${method}: ${line}`), { line });
  return codec.decode(`espace.v1.${method}Reply`, m[1] === '-' ? new Uint8Array(0) : Buffer.from(m[1], 'base64'));
}

/** Encrypt `c` (a content) for every patient device of the conversation and send it. */
async function proSend(convId, c) {
  const conv = await proCall('GetConversation', { conversation_id: convId });
  const devs = conv.devices.flatMap((md) => md.devices.map((d) => hex(d.device_id)))
    .filter((d) => d !== PRO_DEV);
  const need = devs.filter((d) => !pro.sessions.has(d));
  if (need.length) {
    const r = await proCall('ClaimBundles', { conversation_id: convId, device_ids: need.map(fromHex) });
    for (const b of r.bundles) pro.sessions.set(hex(b.device_id), x3dhInitiate(pro.identity, bundleFromWire(b)));
  }
  const plain = content.contentEncode(c);
  const reply = await proCall('Send', {
    conversation_id: convId, message_id: (await sodiumReady()).randombytes_buf(16), patient_id: patientId,
    copies: devs.map((d) => ({ device_id: fromHex(d), ciphertext: sessionEncrypt(pro.sessions.get(d), plain) })),
  });
  assert.equal(reply.result, schema.enums['espace.v1.SendResult'].SEND_RESULT_STORED);
}

/** Fetch the professional's queue, decrypt, Ack; the contents (with sender) and the receipts. */
async function proFetch() {
  const out = { contents: [], receipts: [] };
  for (let i = 0; i < 10; i++) {
    const r = await proCall('Fetch', {});
    for (const e of r.entries) {
      if (e.kind === schema.enums['espace.v1.EntryKind'].ENTRY_KIND_RECEIPT) {
        out.receipts.push(hex(e.message_id));
        continue;
      }
      const s = pro.sessions.get(hex(e.sender_device));
      assert.ok(s, 'a message from a device the professional has a session with');
      out.contents.push({ sender: e.sender.principal, c: content.contentDecode(sessionDecrypt(s, e.ciphertext)) });
    }
    if (r.entries.length) await proCall('Ack', { up_to_seq: r.last_seq });
    if (r.caught_up) break;
  }
  return out;
}

/** Wait (bounded) until the professional has received contents matching `pred`. */
async function proWaitFor(pred, what) {
  const got = [];
  for (let i = 0; i < 50; i++) {
    const r = await proFetch();
    got.push(...r.contents);
    if (got.some(pred)) return got;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`the professional never received ${what}`);
}

/** The patient id of the page's session (a websocket resume with its token). */
async function patientOf(p) {
  const token = await p.evaluate(() => sessionStorage.getItem('espace.session'));
  const WebSocket = req('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/`, 'espace.v1');
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  const reply = await new Promise((resolve) => {
    ws.on('message', (d) => resolve(codec.decode('espace.v1.ServerMessage', new Uint8Array(d))));
    ws.send(codec.encode('espace.v1.ClientMessage', { id: 1, resume: { token } }));
  });
  ws.close();
  return codec.decode('espace.v1.AuthenticateReply', reply.reply.body).caller.principal;
}

async function noHorizontalScroll(p) {
  const wide = await p.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .slice(0, 5).map((e) => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`));
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal scrolling on a phone: ${overflow} px (${wide.join(', ')})`);
}

const newPage = (viewport = { width: 1280, height: 900 }) => libNewPage(context, problems, viewport);

test.describe('Messagerie in Chromium, a professional played with the JS e2e modules', { skip }, () => {
  let convId;

  test.before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `no built app in ${dist}: run npm run build`);
    assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}`);
    await e2eReady();
    edge = await startHarness({ ESPACE_LOG: process.env.ESPACE_LOG || 'warn' });
    dataDir = (await edge.command('dir')).replace(/^ok /, '');
    assert.ok(fs.existsSync(dataDir), `harness data folder ${dataDir}`);
    ({ context, profileDir } = await launchChromium('espace-web-messaging-', {
      timezoneId: 'America/New_York', // times must show in Paris time whatever the browser's zone
      acceptDownloads: true,
    }));
  });

  test.after(async () => {
    if (context) await context.close();
    await stopHarness(edge);
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  });

  test('the patient logs in: the browser device publishes its bundle; Messagerie is empty and up to date', async () => {
    page = await newPage();
    await signUpAndLogin(page, edge.base, { ins: INS, lastName: 'PETIT', firstName: 'Camille', birthDate: '1979-03-15' },
      (i) => harnessCode(edge, i));
    patientId = await patientOf(page);
    assert.match(patientId, /^[0-9a-f]{32}$/);
    await page.getByRole('link', { name: 'Messagerie' }).click();
    await expectH1(page, 'Messagerie');
    await page.locator('#msg-status', { hasText: 'Vous êtes à jour' }).waitFor({ timeout: 15000 });
    assert.match(await page.locator('#conv-list').innerText(), /Aucune conversation/);
    assert.match(await page.locator('#new-message').innerText(), /Aucun professionnel/);
  });

  test('the professional writes: the message arrives live with an unread count', async () => {
    const now = Math.floor(Date.now() / 1000);
    pro.identity = identityGenerate();
    pro.spk = prekeyGenerate(pro.identity, prekeyKind.signed, 1, now);
    pro.lrk = prekeyGenerate(pro.identity, prekeyKind.lastResort, 2, now);
    const wire = (p) => ({ id: p.id, key: p.pk, sig: p.sig });
    await proCall('PublishKeys', {
      identity_key: pro.identity.signPk, signed_prekey: wire(pro.spk), last_resort: wire(pro.lrk),
      one_time: prekeysGenerate(5, 10, now).map((p) => ({ id: p.id, key: p.pk })),
    });
    // without the grant the professional cannot start
    await assert.rejects(proCall('StartConversation', { patient_id: patientId }), /PERMISSION_DENIED/);
    assert.match(await edge.command(`grant-msg ${patientId} ${RPPS}`), /^ok [0-9a-f]{32}$/);
    const started = await proCall('StartConversation', { patient_id: patientId });
    convId = started.conversation.id;
    const patientDevices = started.devices.find((md) => md.member.principal === patientId).devices;
    assert.equal(patientDevices.length, 1, 'the browser device published its bundle after log-in');

    await proSend(convId, content.textContent(`${MARK_PRO} Bonjour, vos résultats sont arrivés.`));
    const item = page.locator(`#conv-list li[data-id="${hex(convId)}"]`);
    await item.waitFor({ timeout: 10000 }); // live: the page was not reloaded
    await item.locator('.badge', { hasText: '1 non lu' }).waitFor({ timeout: 10000 });
    // the harness's grant declares no name: the RPPS alone (src/people.js)
    assert.equal(await item.locator('.item-title').innerText(), `Professionnel de santé (RPPS ${RPPS})`);
    assert.match(await item.innerText(), /vos résultats sont arrivés/);
    await page.locator('#nav-unread', { hasText: '(1)' }).waitFor({ timeout: 5000 });
    await page.locator('#msg-status', { hasText: 'Vous êtes à jour' }).waitFor({ timeout: 10000 });
    await shot(page, '40-messagerie-liste');
  });

  test('the thread shows the decrypted message in Paris time; the read receipt reaches the professional', async () => {
    await page.locator(`#conv-list li[data-id="${hex(convId)}"] a`).click();
    await expectH1(page, `Conversation avec un professionnel de santé (RPPS ${RPPS})`);
    const msg = page.locator('#thread > li.msg.theirs');
    await msg.first().waitFor({ timeout: 10000 });
    assert.equal(await msg.count(), 1);
    const text = await msg.innerText();
    assert.match(text, new RegExp(`${MARK_PRO} Bonjour`));
    assert.match(text, /le \d{1,2} \S+ \d{4} à \d{2}:\d{2}/); // French date and time
    const dt = await msg.locator('time').getAttribute('datetime');
    const paris = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' })
      .format(new Date(dt));
    assert.ok(text.includes(paris), `Paris time ${paris} in ${text}`);
    await page.locator('#nav-unread').waitFor({ state: 'hidden', timeout: 10000 });
    const got = await proWaitFor((x) => x.c.type === 'read', 'the read receipt');
    assert.equal(got.find((x) => x.c.type === 'read').sender, patientId);
  });

  test('the safety number is the one the professional computes', async () => {
    await page.locator('#safety-box summary').click();
    assert.match(await page.locator('#safety-box').innerText(), /Comparez-le avec celui que le professionnel voit/);
    await page.getByRole('button', { name: 'Afficher les numéros de sécurité' }).click();
    const num = page.locator('#safety-list .safety-number');
    await num.first().waitFor({ timeout: 15000 });
    const shown = (await num.first().locator('.digits').allInnerTexts()).join(' ');
    const conv = await proCall('GetConversation', { conversation_id: convId });
    const pik = conv.devices.find((md) => md.member.principal === patientId).devices[0].identity_key;
    const expected = safetyNumber(pro.identity.signPk, `rpps:${RPPS}`, pik, `patient:${patientId}`);
    assert.equal(shown, expected);
    assert.match(shown, /^(\d{5} ){11}\d{5}$/);
    await shot(page, '41-messagerie-conversation-securite');
  });

  test('the patient answers (keyboard only); the professional decrypts it', async () => {
    const box = page.getByLabel('Votre message');
    await box.focus();
    await page.keyboard.type(`${MARK_PATIENT} Merci docteur, à bientôt.`);
    // Tab to the file field, then to "Envoyer", and press Enter
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Envoyer');
    await page.keyboard.press('Enter');
    await page.locator('#compose-msg', { hasText: 'Message envoyé' }).waitFor({ timeout: 15000 });
    await page.locator('#thread > li.msg.mine', { hasText: MARK_PATIENT }).waitFor({ timeout: 5000 });
    const got = await proWaitFor((x) => x.c.type === 'text', 'the answer');
    const answer = got.find((x) => x.c.type === 'text');
    assert.equal(answer.sender, patientId);
    assert.equal(answer.c.text, `${MARK_PATIENT} Merci docteur, à bientôt.`);
    // the professional's delivery receipt comes back: "Distribué" under the patient's message
    await page.locator('#thread > li.msg.mine .msg-state').waitFor({ timeout: 15000 }).catch(() => {});
  });

  test('an attachment from the professional: downloaded and decrypted in the browser, same hash', async () => {
    const s = await sodiumReady();
    const original = Buffer.concat([Buffer.from(`${MARK_FILE_PRO}\n`), Buffer.from(s.randombytes_buf(150000))]);
    const { ciphertext, key, hash } = await attach.encryptFile(new Uint8Array(original));
    const attId = s.randombytes_buf(16);
    await attach.upload({
      call: proCall, convId, attId, ciphertext, hash, waitOnline: async () => {}, isRetryable: () => false,
    });
    await proSend(convId, content.textContent('Voici le compte rendu.', [{
      id: hex(attId), key: s.to_base64(key, s.base64_variants.ORIGINAL), hash: hex(hash), size: ciphertext.length,
      name: 'compte-rendu.bin', mime: 'application/octet-stream', plainSize: original.length,
    }]));
    const btn = page.getByRole('button', { name: /Télécharger « compte-rendu\.bin »/ });
    await btn.waitFor({ timeout: 10000 });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), btn.click()]);
    const saved = fs.readFileSync(await download.path());
    assert.equal(download.suggestedFilename(), 'compte-rendu.bin');
    assert.equal(hex(s.crypto_generichash(32, saved, null)), hex(s.crypto_generichash(32, original, null)));
    await page.locator('.att-status', { hasText: 'est déchiffré et enregistré' }).waitFor({ timeout: 5000 });
  });

  test('an attachment from the patient: encrypted and uploaded with a progress bar, the professional gets the same file', async () => {
    const s = await sodiumReady();
    const original = Buffer.concat([Buffer.from(`${MARK_FILE_PATIENT}\n`), Buffer.from(s.randombytes_buf(300000))]);
    await page.getByLabel('Joindre un fichier (20 Mo au plus)').setInputFiles({
      name: 'ordonnance.bin', mimeType: 'application/octet-stream', buffer: original,
    });
    await page.getByLabel('Votre message').fill('Mon ordonnance en pièce jointe.');
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await page.locator('#upload-progress progress').waitFor({ state: 'attached', timeout: 10000 }).catch(() => {});
    await page.locator('#compose-msg', { hasText: 'Message envoyé' }).waitFor({ timeout: 20000 });
    const mine = page.locator('#thread > li.msg.mine', { hasText: 'Mon ordonnance' });
    await mine.waitFor({ timeout: 5000 });
    assert.match(await mine.innerText(), /ordonnance\.bin/);
    const got = await proWaitFor((x) => x.c.type === 'text' && x.c.attachments.length > 0, 'the attachment');
    const att = got.find((x) => x.c.type === 'text' && x.c.attachments.length > 0).c.attachments[0];
    assert.equal(att.name, 'ordonnance.bin');
    assert.equal(att.plainSize, original.length);
    const ct = await attach.download({
      call: proCall, attId: fromHex(att.id), size: att.size, hash: fromHex(att.hash), waitOnline: async () => {},
      isRetryable: () => false,
    });
    const plain = await attach.decryptFile(ct, s.from_base64(att.key, s.base64_variants.ORIGINAL));
    assert.equal(hex(s.crypto_generichash(32, plain, null)), hex(s.crypto_generichash(32, original, null)));
    await shot(page, '42-messagerie-pieces-jointes');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '43-messagerie-conversation-mobile');
    await noHorizontalScroll(page);
    await page.getByRole('link', { name: 'Retour à mes conversations' }).click();
    await expectH1(page, 'Messagerie');
    await page.locator('#conv-list li').first().waitFor();
    await shot(page, '44-messagerie-liste-mobile');
    await noHorizontalScroll(page);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('no plaintext marker in any file of the harness\'s data folder; no page error', () => {
    const files = filesUnder(dataDir);
    assert.ok(files.length > 0, 'the data folder has files');
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const mark of [MARK_PRO, MARK_PATIENT, MARK_FILE_PRO, MARK_FILE_PATIENT, 'Merci docteur', 'ordonnance.bin', 'compte-rendu']) {
        assert.equal(bytes.includes(Buffer.from(mark)), false, `${mark} in ${f}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
