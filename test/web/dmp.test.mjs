// The "Documents" and "Mesures" screens (issue 12 §3) in real Chromium
// against the real `espace up` (espace-up.mjs, with the dmp service):
//   sign-up -> Mesures: French range errors, the unit shown, no BMI input,
//   glucose without a moment refused -> weights, a height (the BMI the
//   service derives shows), a blood pressure pair, a glucose with its
//   moment: every chart draws its points -> a second tab adds a measure: it
//   shows live in the first -> Documents: the patient uploads a PDF with a
//   progress bar, it shows under its group and downloads byte for byte with
//   the same BLAKE2b -> hide from professionals and show again -> filters ->
//   a document filed in the second tab shows live in the first -> the
//   patient grants a professional in "Mes autorisations" -> `espace-pro dmp
//   upload` shows live and downloads with the hash espace-pro printed ->
//   masked, it leaves `espace-pro dmp list` (and `dmp get` is NOT_FOUND),
//   shown again it is back -> `espace-pro dmp replace`: version 2 shows
//   live, version 1 is listed as superseded (old versions shown) and still
//   downloads -> a report filed --hidden (INVISIBLE_PATIENT) never shows ->
//   `espace-pro measure add` shows live in the chart.
// Environment: as e2e.test.mjs. Run: cd clients/web && npm run test:browser
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { addDays, dateValue, parisDate } from '../../clients/web/src/agenda-time.js';
import {
  newPage as libNewPage, shot, expectH1, login, PASSWORD, req,
} from './lib.mjs';
import { WebSystem, RPPS, skip } from './espace-up.mjs';

const INS = '279035121518989';
const MARK = 'MARQUEUR-DMP-WEB-5c1e';

const world = new WebSystem('dmp');
let tmp;
let sys;
let context;
let page;   // the patient's first tab
let page2;  // a second tab, logged in too
const problems = [];

const sodium = req('libsodium-wrappers-sumo');
/** BLAKE2b-256 (libsodium crypto_generichash, 32 bytes, no key) in hex: the hash dmp.proto and espace-pro use. */
const blake2b256 = (bytes) => sodium.to_hex(sodium.crypto_generichash(32, bytes, null));
const newPage = (viewport = { width: 1280, height: 900 }) => libNewPage(context, problems, viewport);
const today = () => dateValue(parisDate(Date.now()));
const yesterday = () => dateValue(addDays(parisDate(Date.now()), -1));

async function openMeasures(p) {
  await p.getByRole('link', { name: 'Mesures', exact: true }).click();
  await expectH1(p, 'Mes mesures');
  await p.locator('#chart-weight[data-points]').waitFor({ state: 'attached', timeout: 15000 });
}

async function openDocuments(p) {
  await p.getByRole('link', { name: 'Documents', exact: true }).click();
  await expectH1(p, 'Mes documents');
  await p.locator('#doc-count:not(:empty)').waitFor({ timeout: 15000 });
}

/** Fill and send the measure form of `p`: kind label, { field label: value }, optional date and time. */
async function addMeasure(p, kind, values, { date, time = '08:00' } = {}) {
  const form = p.locator('#measure-form');
  await form.getByLabel('Mesure', { exact: true }).selectOption({ label: kind });
  for (const [label, v] of Object.entries(values)) {
    const f = form.getByLabel(label, { exact: true });
    if (await f.evaluate((el) => el.tagName === 'SELECT')) await f.selectOption({ label: v });
    else await f.fill(v);
  }
  await form.getByLabel('Date de la mesure').fill(date || today());
  await form.getByLabel('Heure').fill(time);
  await form.getByRole('button', { name: 'Enregistrer la mesure' }).click();
}

const points = (p, id) => p.locator(`#chart-${id}`).getAttribute('data-points');
async function waitPoints(p, id, n) {
  await p.locator(`#chart-${id}[data-points="${n}"]`).waitFor({ timeout: 10000 });
}

test.describe('Documents et Mesures: the patient web app on the dmp service', { skip }, () => {
  test.before(async () => {
    await sodium.ready;
    await world.start({ chromium: { acceptDownloads: true } });
    ({ tmp, sys, context } = world);
  });

  test.after(() => world.stop());

  test('the patient signs up; Documents and Mesures are in the navigation', async () => {
    page = await newPage();
    await sys.signUp(page, { ins: INS, lastName: 'MOREAU', firstName: 'Léa', birthDate: '1979-03-02' });
    await openMeasures(page);
    assert.equal(await page.locator('#measure-alert').innerText(), '', `an error on Mesures${sys.log()}`);
    assert.equal(await points(page, 'weight'), '0');
    assert.match(await page.locator('#chart-weight').innerText(), /Aucune mesure sur cette période/);
  });

  test('Mesures: the unit is shown, range errors are French, BMI is not an input, glucose needs its moment', async () => {
    const form = page.locator('#measure-form');
    const kinds = await form.getByLabel('Mesure', { exact: true }).locator('option').allInnerTexts();
    assert.equal(kinds.length, 9);
    assert.ok(!kinds.some((k) => /IMC|masse corporelle/.test(k)), kinds.join());
    assert.match(await form.innerText(), /L’indice de masse corporelle \(IMC\) ne se saisit pas/);
    await form.getByLabel('Mesure', { exact: true }).selectOption({ label: 'Poids' });
    assert.match(await form.locator('.field', { has: page.getByLabel('Valeur', { exact: true }) }).innerText(), /Unité : kg/);
    await addMeasure(page, 'Poids', { Valeur: '700' });
    const summary = form.locator('.form-error');
    await summary.getByText('Poids : la valeur doit être supérieure à 0 kg et au plus 650 kg.').waitFor({ timeout: 5000 });
    await addMeasure(page, 'Pression artérielle', { Systolique: '80', Diastolique: '90' });
    await summary.getByText('La pression systolique doit être supérieure à la pression diastolique.').waitFor({ timeout: 5000 });
    await addMeasure(page, 'Glycémie', { 'Type de glycémie': 'Glucose sanguin', Valeur: '95' });
    await summary.getByText('Indiquez le moment de la mesure (à jeun, avant repas…).').waitFor({ timeout: 5000 });
    await addMeasure(page, 'Nombre de pas quotidien', { Valeur: '1000,5' });
    await summary.getByText('Nombre de pas quotidien : saisissez un nombre entier.').waitFor({ timeout: 5000 });
    await shot(page, '60-mesures-erreurs');
    assert.equal(await points(page, 'weight'), '0', 'nothing was stored');
  });

  test('Mesures: the values added show in their charts; the service derives the BMI', async () => {
    const result = page.locator('#measure-result');
    await addMeasure(page, 'Poids', { Valeur: '71' }, { date: yesterday() });
    await result.getByText('Mesure enregistrée : Poids 71 kg.').waitFor({ timeout: 10000 });
    await waitPoints(page, 'weight', 1);
    await addMeasure(page, 'Poids', { Valeur: '72,5' }, { time: '07:30' });
    await waitPoints(page, 'weight', 2);
    await addMeasure(page, 'Taille', { Valeur: '175' }, { time: '07:31' });
    await result.getByText(/IMC calculé : 23,7\skg\/m²/).waitFor({ timeout: 10000 });
    await waitPoints(page, 'height', 1);
    await waitPoints(page, 'bmi', 1);
    await addMeasure(page, 'Pression artérielle', { Systolique: '128', Diastolique: '82' }, { time: '07:32' });
    await waitPoints(page, 'blood_pressure', 1);
    await addMeasure(page, 'Glycémie', { 'Type de glycémie': 'Glucose sanguin', Valeur: '95', 'Moment de la mesure': 'À jeun' }, { time: '07:33' });
    await waitPoints(page, 'glucose-blood', 1);
    await addMeasure(page, 'Température corporelle', { Valeur: '42,5' }, { time: '07:34' });
    await result.getByText(/Valeur inhabituelle : elle est enregistrée/).waitFor({ timeout: 10000 });
    await waitPoints(page, 'temperature', 1);

    // a uPlot chart per kind with data: canvas drawn, two lines for blood pressure
    for (const id of ['weight', 'height', 'bmi', 'blood_pressure', 'glucose-blood', 'temperature']) {
      assert.equal(await page.locator(`#chart-${id} canvas`).count(), 1, id);
    }
    assert.equal(await page.locator('#chart-blood_pressure .u-legend .u-series').count(), 3); // x + 2 lines
    assert.equal(await page.locator('#chart-steps canvas').count(), 0);
    const bp = page.locator('#chart-blood_pressure');
    await bp.getByText('Voir les valeurs').click();
    assert.match(await bp.locator('table.measure-values').innerText(), /128\/82\s*mmHg/);
    assert.match(await bp.locator('.u-legend').innerText(), /Date[\s\S]*Systolique[\s\S]*Diastolique/);
    assert.match(await page.locator('#chart-glucose-blood').innerText(), /Dernière valeur : 95\s*mg\/dL \(À jeun\)/);
    assert.match(await page.locator('#chart-weight').innerText(), /Dernière valeur : 72,5\s*kg/);
    await shot(page, '61-mesures-courbes');

    // 12 months: daily means
    await page.getByLabel('Période').selectOption({ label: '12 derniers mois' });
    await page.locator('#chart-weight[data-mode="daily"][data-points="2"]').waitFor({ timeout: 10000 });
    // back to 30 days
    await page.getByLabel('Période').selectOption({ label: '30 derniers jours' });
    await page.locator('#chart-weight[data-mode="raw"][data-points="2"]').waitFor({ timeout: 10000 });
  });

  test('Mesures live: a measure added in a second tab shows in the first without reload', async () => {
    page2 = await newPage();
    await page2.goto(sys.edgeBase);
    await login(page2, INS, PASSWORD);
    await expectH1(page2, 'Bonjour');
    await openMeasures(page2);
    await addMeasure(page2, 'Fréquence cardiaque', { Valeur: '62' }, { time: '07:40' });
    await waitPoints(page, 'heart_rate', 1);
    await page.locator('#measure-live', { hasText: 'Nouvelle mesure : Fréquence cardiaque 62' }).waitFor({ timeout: 10000 });
  });

  let docTitle;
  let original;

  test('Documents: the patient uploads a PDF with a progress bar; it shows under its group', async () => {
    await openDocuments(page);
    assert.equal(await page.locator('#doc-alert').innerText(), '', `an error on Documents${sys.log()}`);
    await page.locator('#doc-empty', { hasText: 'Votre dossier ne contient encore aucun document.' }).waitFor();
    const form = page.locator('#doc-upload');
    // French errors first
    await form.getByRole('button', { name: 'Ajouter le document' }).click();
    await form.locator('.form-error', { hasText: 'Choisissez le type de document.' }).waitFor({ timeout: 5000 });
    assert.match(await form.locator('.form-error').innerText(), /Saisissez un titre\.[\s\S]*Choisissez un fichier\./);
    await form.getByLabel('Fichier').setInputFiles({ name: 'programme.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') });
    await form.getByRole('button', { name: 'Ajouter le document' }).click();
    await form.locator('.form-error', { hasText: 'Ce format n’est pas accepté' }).waitFor({ timeout: 5000 });

    docTitle = `Bilan sanguin ${MARK}`;
    original = Buffer.concat([Buffer.from(`%PDF-1.4\n% ${MARK}\n`), crypto.randomBytes(400000)]);
    await form.getByLabel('Type de document').selectOption({ label: 'CR de biologie déposé par le patient' });
    await form.getByLabel('Titre').fill(docTitle);
    await form.getByLabel('Fichier').setInputFiles({ name: 'bilan.pdf', mimeType: 'application/pdf', buffer: original });
    await form.getByRole('button', { name: 'Ajouter le document' }).click();
    await page.locator('#doc-upload-progress progress').waitFor({ state: 'attached', timeout: 5000 }).catch(() => {}); // may be quick
    await page.locator('#doc-upload-result', { hasText: `Le document « ${docTitle} » a été ajouté à votre dossier.` }).waitFor({ timeout: 20000 });
    const item = page.locator('section.doc-group[data-category="BIOLOGY"] li.doc', { hasText: docTitle });
    await item.waitFor({ timeout: 5000 });
    assert.match(await page.locator('#doc-group-BIOLOGY').innerText(), /^Biologie$/);
    const text = await item.innerText();
    assert.match(text, /CR de biologie déposé par le patient/);
    assert.match(text, /Déposé par vous/);
    assert.match(text, /PDF, 391 Ko/);
    await shot(page, '62-documents');
  });

  test('Documents: the download is byte for byte the file uploaded, with the same BLAKE2b', async () => {
    const btn = page.getByRole('button', { name: `Télécharger « ${docTitle} »` });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), btn.click()]);
    const saved = fs.readFileSync(await download.path());
    assert.equal(download.suggestedFilename(), `${docTitle}.pdf`);
    assert.equal(saved.length, original.length);
    assert.equal(blake2b256(saved), blake2b256(original));
    await page.locator('li.doc .doc-status', { hasText: 'son empreinte est vérifiée' }).waitFor({ timeout: 5000 });
  });

  test('Documents: hide from professionals (MASQUE_PS) and show again', async () => {
    await page.getByRole('button', { name: `Masquer « ${docTitle} » aux professionnels` }).click();
    await page.locator('#doc-live', { hasText: `« ${docTitle} » est masqué aux professionnels de santé.` }).waitFor({ timeout: 10000 });
    const item = page.locator('li.doc', { hasText: docTitle });
    await item.locator('.tag.masked', { hasText: 'Masqué aux professionnels' }).waitFor({ timeout: 5000 });
    await shot(page, '63-documents-masque');
    // the other tab learns it live (DOCUMENT_CHANGED)
    await openDocuments(page2);
    await page2.locator('li.doc .tag.masked').waitFor({ timeout: 10000 });
    // a reload still shows it masked (stored, not just drawn)
    await page.reload();
    await expectH1(page, 'Mes documents');
    await page.locator('li.doc .tag.masked').waitFor({ timeout: 10000 });
    await page.getByRole('button', { name: `Ne plus masquer « ${docTitle} » aux professionnels` }).click();
    await page.locator('#doc-live', { hasText: 'est de nouveau visible par les professionnels' }).waitFor({ timeout: 10000 });
    assert.equal(await page.locator('li.doc .tag.masked').count(), 0);
  });

  test('Documents: filters by category, type and date', async () => {
    const filters = page.locator('#doc-filters');
    await filters.getByLabel('Catégorie').selectOption({ label: 'Imagerie' });
    await filters.getByRole('button', { name: 'Filtrer' }).click();
    await page.locator('#doc-empty', { hasText: 'Aucun document ne correspond à ces filtres.' }).waitFor({ timeout: 10000 });
    await filters.getByLabel('Catégorie').selectOption({ label: 'Biologie' });
    await filters.getByLabel('Type de document').selectOption({ label: 'CR de biologie déposé par le patient' });
    await filters.getByLabel('Créé à partir du').fill(today());
    await filters.getByRole('button', { name: 'Filtrer' }).click();
    await page.locator('li.doc', { hasText: docTitle }).waitFor({ timeout: 10000 });
    await filters.getByLabel('Créé à partir du').fill(dateValue(addDays(parisDate(Date.now()), 1)));
    await filters.getByRole('button', { name: 'Filtrer' }).click();
    await page.locator('#doc-empty').waitFor({ timeout: 10000 });
    await filters.getByRole('button', { name: 'Effacer les filtres' }).click();
    await page.locator('li.doc', { hasText: docTitle }).waitFor({ timeout: 10000 });
  });

  test('Documents live: a document filed in the second tab shows in the first without reload', async () => {
    const form = page2.locator('#doc-upload');
    const title = `Certificat ${MARK}`;
    await form.getByLabel('Type de document').selectOption({ label: 'Certificat déposé par le patient' });
    await form.getByLabel('Titre').fill(title);
    await form.getByLabel('Fichier').setInputFiles({ name: 'certificat.txt', mimeType: 'text/plain', buffer: Buffer.from(`Certificat ${MARK}\n`) });
    await form.getByRole('button', { name: 'Ajouter le document' }).click();
    await page.locator('section.doc-group[data-category="OTHER"] li.doc', { hasText: title }).waitFor({ timeout: 15000 });
    await page.locator('#doc-live', { hasText: `Nouveau document dans votre dossier : « ${title} ».` }).waitFor({ timeout: 5000 });
    await shot(page, '64-documents-direct');
  });

  test('the patient grants documents and measures to a professional in "Mes autorisations"', async () => {
    await sys.requestAccepted(page, INS, 'documents:read,documents:write,measures:write');
  });

  let proDoc;
  let proFile;

  test('espace-pro files a report: it shows live in the open Documents page and downloads with the same hash', async () => {
    await openDocuments(page);
    proFile = path.join(tmp, 'compte-rendu.pdf');
    const bytes = Buffer.concat([Buffer.from(`%PDF-1.4\n% ${MARK} pro\n`), crypto.randomBytes(300000)]);
    fs.writeFileSync(proFile, bytes);
    const up = await sys.pro('dmp', 'upload', '--patient', INS, '--file', proFile, '--type', '11488-4',
      '--title', 'Compte rendu de consultation', '--mime', 'application/pdf');
    assert.equal(up.code, 0, `dmp upload: ${up.out}${up.err}`);
    const m = /^filed ([0-9a-f]{32}) version 1 size (\d+) hash ([0-9a-f]{64})$/m.exec(up.out);
    assert.ok(m, up.out);
    proDoc = m[1];
    assert.equal(m[3], blake2b256(bytes));
    const item = page.locator(`section.doc-group[data-category="REPORTS"] li.doc[data-id="${proDoc}"]`);
    await item.waitFor({ timeout: 10000 }); // live: no reload
    await page.locator('#doc-live', { hasText: 'Nouveau document dans votre dossier : « Compte rendu de consultation ».' }).waitFor({ timeout: 5000 });
    // the author by the name espace-pro declared, with the RPPS (src/people.js)
    await item.locator('.item-meta', { hasText: `Déposé par le Dr Claire Martin (médecin, RPPS ${RPPS})` }).waitFor({ timeout: 10000 });
    const text = await item.innerText();
    assert.match(text, /CR ou fiche de consultation ou de visite/);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }),
      item.getByRole('button', { name: 'Télécharger « Compte rendu de consultation »' }).click()]);
    const saved = fs.readFileSync(await download.path());
    assert.ok(saved.equals(bytes), 'the downloaded report differs');
    assert.equal(blake2b256(saved), m[3]);
    await shot(page, '67-documents-professionnel');
  });

  test('masked by the patient, the report disappears from the professional\'s list; shown again, it is back', async () => {
    const list = async () => {
      const r = await sys.pro('dmp', 'list', '--patient', INS);
      assert.equal(r.code, 0, `dmp list: ${r.out}${r.err}`);
      return r.out;
    };
    assert.match(await list(), new RegExp(proDoc));
    await page.getByRole('button', { name: 'Masquer « Compte rendu de consultation » aux professionnels' }).click();
    await page.locator(`li.doc[data-id="${proDoc}"] .tag.masked`).waitFor({ timeout: 10000 });
    assert.doesNotMatch(await list(), new RegExp(proDoc));
    const get = await sys.pro('dmp', 'get', '--patient', INS, '--id', proDoc, '--out', path.join(tmp, 'masked.pdf'));
    assert.notEqual(get.code, 0, `a masked document was read: ${get.out}`);
    assert.match(`${get.out}${get.err}`, /NOT_FOUND/);
    await page.getByRole('button', { name: 'Ne plus masquer « Compte rendu de consultation » aux professionnels' }).click();
    await page.locator('#doc-live', { hasText: 'est de nouveau visible' }).waitFor({ timeout: 10000 });
    assert.match(await list(), new RegExp(proDoc));
  });

  test('espace-pro replaces the report: version 2 shows live; version 1 is listed as superseded and still downloads', async () => {
    const v1 = fs.readFileSync(proFile);
    const file2 = path.join(tmp, 'compte-rendu-v2.pdf');
    fs.writeFileSync(file2, Buffer.concat([Buffer.from(`%PDF-1.4\n% ${MARK} v2\n`), crypto.randomBytes(1000)]));
    const r = await sys.pro('dmp', 'replace', '--patient', INS, '--id', proDoc, '--file', file2);
    assert.equal(r.code, 0, `dmp replace: ${r.out}${r.err}`);
    const m = /^replaced by ([0-9a-f]{32}) version 2 /m.exec(r.out);
    assert.ok(m, r.out);
    const v2 = page.locator(`li.doc[data-id="${m[1]}"]`);
    await v2.waitFor({ timeout: 10000 }); // live
    assert.match(await v2.innerText(), /Version 2/);
    await page.locator(`li.doc[data-id="${proDoc}"]`).waitFor({ state: 'detached', timeout: 5000 }); // current versions only
    const filters = page.locator('#doc-filters');
    await filters.getByLabel('Afficher aussi les anciennes versions').check();
    await filters.getByRole('button', { name: 'Filtrer' }).click();
    const old = page.locator(`li.doc.superseded[data-id="${proDoc}"]`);
    await old.waitFor({ timeout: 10000 });
    assert.match(await old.innerText(), /Ancienne version, remplacée/);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }),
      old.getByRole('button', { name: /^Télécharger/ }).click()]);
    assert.ok(fs.readFileSync(await download.path()).equals(v1), 'version 1 differs');
    await shot(page, '68-documents-versions');
    await filters.getByRole('button', { name: 'Effacer les filtres' }).click();
    await page.locator(`li.doc[data-id="${proDoc}"]`).waitFor({ state: 'detached', timeout: 10000 });
  });

  test('a report filed "not visible to the patient" (INVISIBLE_PATIENT) does not show in the page', async () => {
    const file = path.join(tmp, 'resultat.txt');
    fs.writeFileSync(file, `Résultat en attente d'annonce ${MARK}\n`);
    const r = await sys.pro('dmp', 'upload', '--patient', INS, '--file', file, '--type', '11502-2',
      '--title', 'Résultat en attente', '--hidden');
    assert.equal(r.code, 0, `dmp upload --hidden: ${r.out}${r.err}`);
    const id = /^filed ([0-9a-f]{32}) /m.exec(r.out)[1];
    assert.match((await sys.pro('dmp', 'list', '--patient', INS)).out, new RegExp(id)); // the professional sees it
    await page.waitForTimeout(1500); // a live event would have come by now
    assert.equal(await page.locator(`li.doc[data-id="${id}"]`).count(), 0);
    await page.reload();
    await expectH1(page, 'Mes documents');
    await page.locator('#doc-count:not(:empty)').waitFor({ timeout: 15000 });
    await page.locator('li.doc').first().waitFor({ timeout: 10000 });
    assert.equal(await page.locator(`li.doc[data-id="${id}"]`).count(), 0);
    assert.equal(await page.getByText('Résultat en attente').count(), 0);
  });

  test('espace-pro adds a measure: it shows live in the open Mesures page', async () => {
    await openMeasures(page);
    await waitPoints(page, 'weight', 2);
    const r = await sys.pro('measure', 'add', '--patient', INS, '--kind', 'weight', '--value', '73.2');
    assert.equal(r.code, 0, `measure add: ${r.out}${r.err}`);
    await waitPoints(page, 'weight', 3);
    await page.locator('#measure-live', { hasText: 'Nouvelle mesure : Poids 73,2' }).waitFor({ timeout: 10000 });
    assert.match(await page.locator('#chart-weight').innerText(), /Dernière valeur : 73,2\s*kg/);
  });

  test('phone viewport: Mesures and Documents without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const open of [openMeasures, openDocuments]) {
      await open(page);
      await page.waitForTimeout(300); // the charts follow the new width
      const over = await page.evaluate(() => {
        const w = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > w + 1)
          .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`);
        return { px: document.documentElement.scrollWidth - w, wide };
      });
      assert.ok(over.px <= 0, `${open.name}: horizontal scroll of ${over.px} px: ${over.wide.join(', ')}`);
    }
    await shot(page, '65-documents-mobile');
    await openMeasures(page);
    await shot(page, '66-mesures-mobile');
  });

  test('no page error, no console error', () => {
    assert.deepEqual(problems, []);
  });
});
