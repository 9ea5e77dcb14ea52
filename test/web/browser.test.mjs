// Browser tests of the patient web app in real Chromium (Debian's chromium
// package, driven by playwright-core), against the real edge, broker and
// identity started by the edge harness (test/edge/edge_harness.c).
//
// Environment:
//   ES_EDGE_HARNESS  path of edge_harness (default: <repo>/build/test/edge/edge_harness;
//                    when unset and missing, the tests are skipped)
//   ES_CHROMIUM      Chromium binary (default /usr/bin/chromium)
//   ES_WEB_DIST      built app (default clients/web/dist: run `npm run build` first,
//                    `npm run test:browser` does)
//   ES_ARTIFACTS     screenshots folder (default <repo>/test-artifacts/web)
// Run: cd clients/web && npm run test:browser
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  dist, chromiumPath, PASSWORD, harnessSkip, startHarness, stopHarness, launchChromium,
  newPage as libNewPage, shot, expectH1, login, harnessCode,
} from './lib.mjs';

const skip = harnessSkip();

const INS = '253072B07300470'; // Corsica 2B: checks the whole INS path

let edge; // { proc, port, base }
let context; // persistent browser context (fresh profile)
let profileDir;
const problems = []; // console errors, page errors, CSP violations

const newPage = (viewport = { width: 1280, height: 800 }) => libNewPage(context, problems, viewport);

const h1 = (page) => page.locator('h1');

async function expectOnline(page) {
  await page.locator('#conn[data-state="online"]').waitFor({ timeout: 15000 });
  assert.match(await page.locator('#conn').innerText(), /Connecté/);
}

test.describe('patient web app in Chromium', { skip }, () => {
  test.before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `no built app in ${dist}: run npm run build`);
    assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}`);
    edge = await startHarness();
    ({ context, profileDir } = await launchChromium('espace-web-chromium-', { timezoneId: 'Europe/Paris' }));
  });

  test.after(async () => {
    if (context) await context.close();
    await stopHarness(edge);
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  });

  let page;

  test('first visit shows Connexion, connected, with the security headers', async () => {
    page = await newPage();
    const resp = await page.goto(edge.base);
    assert.equal(resp.status(), 200);
    const csp = resp.headers()['content-security-policy'] || '';
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
    await expectH1(page, 'Se connecter');
    // online but logged out: no "Connecté" badge next to the log-in form (issue 13)
    await page.locator('#conn[data-state="online"]').waitFor({ state: 'attached', timeout: 15000 });
    assert.equal(await page.locator('#conn').isVisible(), false);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    assert.match(await page.title(), /Se connecter/);
    await shot(page, '01-connexion');
  });

  test('sign-up: live INS key check in French, then account created and logged in', async () => {
    await page.getByRole('link', { name: 'Créer un compte' }).click();
    await expectH1(page, 'Créer mon compte');
    const ins = page.getByLabel('Matricule INS');
    await ins.fill('253072B07300471'); // wrong key
    await page.getByText('La clé (les 2 derniers chiffres) ne correspond pas').waitFor();
    assert.equal(await ins.getAttribute('aria-invalid'), 'true');
    // submitting an incomplete form lists every problem in French
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    const summary = page.locator('.form-error');
    await summary.waitFor();
    const text = await summary.innerText();
    assert.match(text, /Saisissez votre nom de naissance/);
    assert.match(text, /Saisissez au moins un prénom/);
    assert.match(text, /au moins 12 caractères/);
    await shot(page, '02-inscription-erreurs');

    await ins.fill('2 53 07 2B 073 004 70');
    await page.getByText('Matricule INS valide.').waitFor();
    await page.getByLabel('Nom(s) de naissance', { exact: true }).fill('MARTIN');
    await page.getByLabel('Prénom(s) de naissance', { exact: true }).fill('Élodie Marie');
    // a birth date and sex that the INS contradicts are refused in French
    await page.getByLabel('Date de naissance').fill('1980-05-17');
    await page.getByLabel('Sexe').selectOption('1');
    await page.getByLabel('Mot de passe', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirmer le mot de passe').fill(PASSWORD);
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    await page.getByText('L’année de naissance ne correspond pas au matricule INS (2e et 3e chiffres).').first().waitFor();
    await page.getByText('Le sexe ne correspond pas au matricule INS (1er chiffre).').first().waitFor();
    await page.getByLabel('Date de naissance').fill('1953-07-17');
    await page.getByLabel('Sexe').selectOption('2');
    await page.getByLabel('Confirmer le mot de passe').fill(PASSWORD + 'x');
    await page.getByRole('button', { name: 'Créer mon compte' }).click();
    await page.getByText('Les deux mots de passe ne sont pas identiques.').first().waitFor();
    await page.getByLabel('Confirmer le mot de passe').fill(PASSWORD);
    await shot(page, '03-inscription');
    await page.getByRole('button', { name: 'Créer mon compte' }).click();

    // pending until activated with the code handed out by the operator
    await expectH1(page, 'Activer mon compte');
    await page.getByText('Demande enregistrée. Saisissez maintenant votre code d’activation.').waitFor();
    await page.getByLabel('Code d’activation').fill(await harnessCode(edge, INS));
    await shot(page, '03b-activation');
    await page.getByRole('button', { name: 'Activer mon compte' }).click();
    await expectH1(page, 'Bonjour');
    const title = await h1(page).innerText();
    assert.match(title, /Élodie/);
    assert.match(title, /MARTIN/i);
    assert.match(await page.locator('#who').innerText(), /Élodie/);
    // real data: this browser is the one device, with its keys registered
    const devices = page.locator('#device-list li');
    await devices.first().waitFor();
    assert.equal(await devices.count(), 1);
    const dev = await devices.first().innerText();
    assert.match(dev, /cet appareil/);
    assert.match(dev, /clés de chiffrement enregistrées/);
    assert.match(await page.locator('#session-count').innerText(), /1 session ouverte/);
    const token = await page.evaluate(() => sessionStorage.getItem('espace.session'));
    assert.ok(token && token.length > 20, 'session token saved in sessionStorage');
    // the device keys are in IndexedDB, wrapped: no private key in clear
    const rec = await page.evaluate(() => new Promise((resolve, reject) => {
      const r = indexedDB.open('espace');
      r.onsuccess = () => {
        const all = r.result.transaction('device-keys').objectStore('device-keys').getAll();
        all.onsuccess = () => resolve(all.result.map((x) => ({
          keys: Object.keys(x).sort(), wrapped: x.wrapped.length, salt: x.kdf.salt.length,
        })));
      };
      r.onerror = () => reject(r.error);
    }));
    assert.equal(rec.length, 1);
    assert.deepEqual(rec[0].keys, ['account', 'created_ms', 'device_id', 'dh_public', 'kdf',
      'nonce', 'sign_public', 'version', 'wrapped']);
    assert.equal(rec[0].wrapped, 64 + 32 + 16); // Ed25519 + X25519 secrets + Poly1305 tag
    await shot(page, '04-accueil');
  });

  test('reload keeps the session (still on Accueil with the name)', async () => {
    await page.reload();
    await expectH1(page, 'Bonjour');
    assert.match(await h1(page).innerText(), /Élodie/);
    await expectOnline(page);
    assert.match(page.url(), /#\/accueil$/);
  });

  test('Mes sessions lists the current session; another tab\'s session can be revoked', async () => {
    // a second tab logs in: a second session on the same (reused) device
    const other = await newPage();
    await other.goto(edge.base);
    await login(other, INS, PASSWORD);
    await expectH1(other, 'Bonjour');
    await other.locator('#device-list li').first().waitFor();
    assert.equal(await other.locator('#device-list li').count(), 1, 'device reused, not a new one');

    await page.getByRole('link', { name: 'Mes sessions', exact: true }).click();
    await expectH1(page, 'Mes sessions');
    const rows = page.locator('#session-table tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    assert.match(await rows.first().innerText(), /Session en cours/);
    await shot(page, '05-sessions');

    await page.getByRole('button', { name: /^Fermer la session de/ }).click();
    await page.getByText('La session a été fermée.').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#session-table tbody tr').length === 1);

    // the edge pushes Closing to the revoked tab: it is back on Connexion by itself
    await expectH1(other, 'Se connecter');
    await other.getByText('Votre session a pris fin. Connectez-vous à nouveau.').waitFor();
    await other.reload();
    await expectH1(other, 'Se connecter');
    assert.equal(await other.evaluate(() => sessionStorage.getItem('espace.session')), null);
    await other.close();
  });

  test('phone-sized screen (390x844): sessions and sign-up stay usable', async () => {
    const phone = await newPage({ width: 390, height: 844 });
    // same tab storage is per page: log in on this one too
    await phone.goto(edge.base);
    await login(phone, INS, PASSWORD);
    await expectH1(phone, 'Bonjour');
    await phone.locator('#device-list li').first().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);
    await shot(phone, '06-accueil-mobile');
    await phone.getByRole('link', { name: 'Mes sessions', exact: true }).click();
    await phone.locator('#session-table tbody tr').first().waitFor();
    await shot(phone, '07-sessions-mobile');
    await phone.getByRole('button', { name: 'Se déconnecter' }).first().click();
    await expectH1(phone, 'Se connecter');
    await phone.getByRole('link', { name: 'Créer un compte' }).click();
    await expectH1(phone, 'Créer mon compte');
    await shot(phone, '08-inscription-mobile');
    await phone.close();
  });

  test('connection indicator: Hors ligne when the network goes, Connecté when it is back', async () => {
    await expectOnline(page);
    await context.setOffline(true);
    await page.locator('#conn[data-state="offline"]').waitFor({ timeout: 10000 });
    assert.match(await page.locator('#conn').innerText(), /Hors ligne/);
    await context.setOffline(false);
    await expectOnline(page);
    // still logged in and working after the network came back
    await page.getByRole('link', { name: 'Accueil', exact: true }).click();
    await expectH1(page, 'Bonjour');
    await page.locator('#device-list li').first().waitFor();
  });

  test('log-out returns to Connexion and forgets the token', async () => {
    await page.locator('#nav-logout').click();
    await expectH1(page, 'Se connecter');
    await page.getByText('Vous êtes déconnecté.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('espace.session')), null);
    // one state: no "Connecté" badge; the notice goes when a new error comes (issue 13)
    assert.equal(await page.locator('#conn').isVisible(), false);
    await login(page, INS, 'pas le bon mot de passe');
    await page.locator('.form-error').getByText('Matricule INS ou mot de passe incorrect.').waitFor();
    assert.equal(await page.getByText('Vous êtes déconnecté.').count(), 0);
    await shot(page, '05-deconnecte-puis-erreur');
    await page.reload();
    await expectH1(page, 'Se connecter');
  });

  test('wrong password shows the French error, the right one logs in', async () => {
    await login(page, INS, 'pas le bon mot de passe');
    const alert = page.locator('.form-error');
    await alert.getByText('Matricule INS ou mot de passe incorrect.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('espace.session')), null);
    await shot(page, '09-connexion-erreur');
    await page.getByLabel('Mot de passe', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await expectH1(page, 'Bonjour');
  });

  test('activation: a pending account\'s log-in asks for the code; a wrong code is refused in French', async () => {
    const p = await newPage();
    const ins = '295109912611193'; // a woman born in October 1995 abroad
    await p.goto(`${edge.base}#/inscription`);
    await expectH1(p, 'Créer mon compte');
    await p.getByLabel('Matricule INS').fill(ins);
    await p.getByLabel('Nom(s) de naissance', { exact: true }).fill('PETIT');
    await p.getByLabel('Prénom(s) de naissance', { exact: true }).fill('Inès');
    await p.getByLabel('Date de naissance').fill('1995-10-02');
    await p.getByLabel('Sexe').selectOption('2');
    await p.getByLabel('Mot de passe', { exact: true }).fill(PASSWORD);
    await p.getByLabel('Confirmer le mot de passe').fill(PASSWORD);
    await p.getByRole('button', { name: 'Créer mon compte' }).click();
    await expectH1(p, 'Activer mon compte');
    // leave without the code, then log in: the account is not active yet
    await p.goto(`${edge.base}#/connexion`);
    await login(p, ins, PASSWORD);
    await expectH1(p, 'Activer mon compte');
    await p.getByText('Votre compte n’est pas encore activé : saisissez votre code d’activation.').waitFor();
    const code = await harnessCode(edge, ins);
    const wrong = (code[0] === '9' ? '0' : String(Number(code[0]) + 1)) + code.slice(1);
    await p.getByLabel('Code d’activation').fill(wrong);
    await p.getByRole('button', { name: 'Activer mon compte' }).click();
    await p.locator('.form-error').getByText(/Code d’activation invalide ou expiré/).waitFor();
    assert.equal(await p.evaluate(() => sessionStorage.getItem('espace.session')), null);
    await shot(p, '10-activation-erreur');
    await p.getByLabel('Code d’activation').fill(code);
    await p.getByRole('button', { name: 'Activer mon compte' }).click();
    await expectH1(p, 'Bonjour');
    await p.close();
  });

  test('keyboard only: skip link, then the form is reachable with Tab', async () => {
    await page.locator('#nav-logout').click();
    await expectH1(page, 'Se connecter');
    await page.reload();
    await expectH1(page, 'Se connecter');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'skip');
    await page.keyboard.press('Enter');
    let found = false;
    for (let i = 0; i < 10 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => document.activeElement.name === 'ins');
    }
    assert.ok(found, 'the INS field is reachable with Tab');
    await page.keyboard.type(INS);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await expectH1(page, 'Bonjour');
  });

  test('no console error, page error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
