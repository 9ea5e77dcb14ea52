// Browser tests of the Agenda screen in real Chromium (playwright-core),
// against the edge harness (broker + identity + consent + agenda + edge,
// test/edge/edge_harness.c). A professional's event is written through the
// harness's stdin (`grant`, then `as-pro-create`) and must appear in the open
// page without reload; the .ics download is parsed with ical.js.
//
// Environment: as browser.test.mjs (ES_EDGE_HARNESS, ES_CHROMIUM, ES_WEB_DIST,
// ES_ARTIFACTS). Run: cd clients/web && npm run test:browser
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parisDate, parisToUtc, parisWeek, dateValue } from '../../clients/web/src/agenda-time.js';
import {
  repo, dist, chromiumPath, req, harnessSkip, startHarness, stopHarness, launchChromium,
  newPage as libNewPage, shot, expectH1, signUpAndLogin, harnessCode, artifacts,
} from './lib.mjs';

const skip = harnessSkip();

const RPPS = '10003456789';

// A valid INS (13 characters + key 97 - n mod 97).
function randomIns() {
  const r = (n) => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0');
  const body = `2${r(2)}0${1 + Math.floor(Math.random() * 9)}75${r(3)}${r(3)}`;
  return body + String(97n - (BigInt(body) % 97n)).padStart(2, '0');
}

let edge; // { proc, port, base, command(line) }
let context;
let profileDir;
let page;
let patientId;
const problems = [];

const newPage = (viewport = { width: 1280, height: 860 }) => libNewPage(context, problems, viewport);

const eventButton = (p, title) => p.locator('#agenda-view button.event', { hasText: title });

// Today in Paris and a Paris wall time of today, as UTC ms.
const today = () => parisDate(Date.now());
const todayAt = (hh, mm) => { const d = today(); return parisToUtc(d.y, d.m, d.d, hh, mm); };
const hhmm = (ms) => new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(ms);

// A websocket client of the edge bound to the page's session (ws + protobufjs), for
// what a second device of the patient does.
async function sessionClient(token) {
  const WebSocket = req('ws');
  const protobuf = req('protobufjs');
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => path.join(repo, 'proto', target);
  root.loadSync(['espace/v1/edge.proto', 'espace/v1/agenda.proto'], { keepCase: true });
  root.resolveAll();
  const t = (n) => root.lookupType(`espace.v1.${n}`);
  const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/`, 'espace.v1');
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  let id = 0;
  const waiting = new Map();
  ws.on('message', (data) => {
    const m = t('ServerMessage').decode(data);
    const w = waiting.get(Number(m.id));
    if (m.reply && w) { waiting.delete(Number(m.id)); w(m.reply); }
  });
  const send = (kind, body) => new Promise((resolve) => {
    id += 1;
    waiting.set(id, resolve);
    ws.send(t('ClientMessage').encode({ id, [kind]: body }).finish());
  });
  const r = await send('resume', { token });
  assert.equal(r.status ? r.status.code : 0, 0, 'resume');
  const caller = t('AuthenticateReply').decode(r.body).caller;
  return {
    patientId: caller.principal,
    async call(method, body) {
      const rq = t(`Agenda${method}Request`);
      const rep = await send('call', { service: 'agenda', method, body: rq.encode(rq.fromObject(body)).finish() });
      const code = rep.status ? rep.status.code : 0;
      return { code, reply: code === 0 ? t(`Agenda${method}Reply`).toObject(t(`Agenda${method}Reply`).decode(rep.body), { longs: Number }) : null };
    },
    close() { ws.close(); },
  };
}

test.describe('Agenda screen in Chromium', { skip }, () => {
  let client;

  test.before(async () => {
    assert.ok(fs.existsSync(path.join(dist, 'index.html')), `no built app in ${dist}: run npm run build`);
    assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}`);
    edge = await startHarness({ ESPACE_LOG: process.env.ESPACE_LOG || 'warn' });
    ({ context, profileDir } = await launchChromium('espace-web-agenda-', {
      timezoneId: 'America/New_York', // the page must show Paris time whatever the browser's zone
      acceptDownloads: true,
    }));
  });

  test.after(async () => {
    if (client) client.close();
    if (context) await context.close();
    await stopHarness(edge);
    if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  });

  test('sign up, log in, open Agenda: the week of today, Monday first', async () => {
    page = await newPage();
    // log out and in again: the agenda is the account's, not the tab's
    const ins = randomIns();
    await signUpAndLogin(page, edge.base,
      { ins, lastName: 'DURAND', firstName: 'Léa', birthDate: `19${ins.slice(1, 3)}-${ins.slice(3, 5)}-03` },
      (i) => harnessCode(edge, i));

    const token = await page.evaluate(() => sessionStorage.getItem('espace.session'));
    client = await sessionClient(token);
    patientId = client.patientId;
    assert.match(patientId, /^[0-9a-f]{32}$/);

    await page.getByRole('link', { name: 'Agenda', exact: true }).click();
    await expectH1(page, 'Mon agenda');
    assert.match(page.url(), /#\/agenda$/);
    const days = page.locator('ol.week > li.day');
    await days.first().waitFor();
    assert.equal(await days.count(), 7);
    const week = parisWeek(Date.now());
    assert.equal(await days.first().getAttribute('data-date'), dateValue(week.days[0].date));
    assert.match(await days.first().locator('h3').innerText(), /^lundi/i);
    assert.equal(await page.locator('li.day.today').getAttribute('data-date'), dateValue(today()));
    assert.match(await page.locator('#week-title').innerText(), /^Semaine du /);
  });

  test('create an event from today\'s column: shown in Paris time with its kind and status', async () => {
    await page.locator('li.day.today button.add').click();
    await page.locator('#panel-title', { hasText: 'Nouvel événement' }).waitFor();
    // errors in French first
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.locator('.form-error', { hasText: 'Saisissez un titre.' }).waitFor();
    const panel = page.locator('#agenda-panel');
    await panel.getByLabel('Titre').fill('Dentiste');
    await panel.getByLabel('Heure de début').fill('10:00');
    await panel.getByLabel('Heure de fin').fill('09:30');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.locator('.form-error', { hasText: 'L’heure de fin doit être après l’heure de début.' }).waitFor();
    await panel.getByLabel('Heure de fin').fill('10:30');
    await panel.getByLabel('Lieu').fill('Cabinet dentaire, 3 rue des Lilas, Lyon');
    await panel.getByLabel('1 heure avant').check();
    await panel.getByLabel('1 jour avant').check();
    await shot(page, '10-agenda-formulaire');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText('L’événement « Dentiste » a été ajouté à votre agenda.').waitFor();
    const ev = page.locator('li.day.today').locator('button.event', { hasText: 'Dentiste' });
    await ev.waitFor();
    const text = await ev.innerText();
    assert.match(text, /10:00 – 10:30/);
    assert.match(text, /Rendez-vous/);
    assert.match(text, /Confirmé/);
    // stored as the Paris wall time, whatever the browser's zone (New York here)
    const list = await client.call('List', { from_ms: todayAt(0, 0), to_ms: todayAt(23, 59) });
    const stored = list.reply.events.find((e) => e.title === 'Dentiste');
    assert.ok(stored);
    assert.equal(stored.start_ms, todayAt(10, 0));
    assert.equal(stored.end_ms, todayAt(10, 30));
    assert.deepEqual([...stored.reminder_minutes].sort((a, b) => a - b), [60, 1440]);
    assert.equal(stored.location, 'Cabinet dentaire, 3 rue des Lilas, Lyon');
  });

  test('edit it (the version read is sent); a concurrent change gives the French conflict message', async () => {
    await eventButton(page, 'Dentiste').click();
    await page.locator('#panel-title', { hasText: 'Modifier l’événement' }).waitFor();
    const panel = page.locator('#agenda-panel');
    assert.equal(await panel.getByLabel('Titre').inputValue(), 'Dentiste');
    assert.equal(await panel.getByLabel('Heure de début').inputValue(), '10:00');
    assert.ok(await panel.getByLabel('1 heure avant').isChecked());
    await panel.getByLabel('Titre').fill('Dentiste (contrôle)');
    await panel.getByLabel('Heure de fin').fill('11:00');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText('L’événement « Dentiste (contrôle) » a été modifié.').waitFor();
    const ev = eventButton(page, 'Dentiste (contrôle)');
    await ev.waitFor();
    assert.match(await ev.innerText(), /10:00 – 11:00/);

    // open the form, then another device of the patient changes the event
    await ev.click();
    await page.locator('#panel-title', { hasText: 'Modifier l’événement' }).waitFor();
    const id = Buffer.from(await ev.getAttribute('data-event-id'), 'hex');
    const got = await client.call('Get', { event_id: id });
    assert.equal(got.code, 0);
    assert.equal(got.reply.event.version, 2);
    const upd = await client.call('Update', { event: { ...got.reply.event, title: 'Dentiste (autre appareil)' } });
    assert.equal(upd.code, 0);
    await panel.getByLabel('Titre').fill('Dentiste (mon titre)');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await panel.getByText('Cet événement a été modifié entre-temps').waitFor();
    // the form now shows the current version; saving again works
    assert.equal(await panel.getByLabel('Titre').inputValue(), 'Dentiste (autre appareil)');
    await shot(page, '11-agenda-conflit');
    await panel.getByLabel('Titre').fill('Dentiste (mon titre)');
    await page.getByRole('button', { name: 'Enregistrer' }).click();
    await page.getByText('L’événement « Dentiste (mon titre) » a été modifié.').waitFor();
    await eventButton(page, 'Dentiste (mon titre)').waitFor();
  });

  test('cancel it: shown as Annulé', async () => {
    await eventButton(page, 'Dentiste (mon titre)').click();
    await page.getByRole('button', { name: 'Annuler l’événement' }).click();
    await page.getByLabel('Motif (facultatif)').fill('Empêchement');
    await page.getByRole('button', { name: 'Confirmer l’annulation' }).click();
    await page.getByText('L’événement « Dentiste (mon titre) » a été annulé.').waitFor();
    const ev = eventButton(page, 'Dentiste (mon titre)');
    await ev.locator('.status', { hasText: 'Annulé' }).waitFor();
    assert.match(await ev.getAttribute('class'), /cancelled/);
  });

  test('a professional\'s event (grant, then Create through the harness) appears live, without reload', async () => {
    await page.evaluate(() => { window.__noReload = 'still here'; });
    // without a grant the professional is refused
    const start = todayAt(15, 0);
    const denied = await edge.command(`as-pro-create ${patientId} ${RPPS} ${start} ${start + 1800000} Refusé`);
    assert.equal(denied, 'error CODE_PERMISSION_DENIED');
    assert.match(await edge.command(`grant ${patientId} ${RPPS}`), /^ok [0-9a-f]{32}$/);
    const t0 = Date.now();
    const made = await edge.command(`as-pro-create ${patientId} ${RPPS} ${start} ${start + 1800000} Consultation Dr Bernard`);
    assert.match(made, /^ok [0-9a-f]{32}$/);
    const ev = page.locator(`li.day.today button.event[data-event-id="${made.slice(3)}"]`);
    await ev.waitFor({ timeout: 5000 });
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `shown after ${ms} ms`);
    assert.match(await ev.innerText(), /Consultation Dr Bernard/);
    assert.match(await ev.innerText(), /15:00 – 15:30/);
    assert.match(await ev.innerText(), /Ajouté par un professionnel/);
    await page.getByText('Votre agenda a été mis à jour : « Consultation Dr Bernard ».').waitFor();
    assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'no reload');
    // read-only for the patient: details, not the form
    await ev.click();
    await page.locator('#panel-title', { hasText: 'Consultation Dr Bernard' }).waitFor();
    await page.getByText('Ajouté par le logiciel d’un professionnel').waitFor();
    await shot(page, '12-agenda-semaine');
    await page.locator('#agenda-panel').getByRole('button', { name: 'Fermer' }).click();
  });

  test('a reminder falling due shows "Rappel : <titre> à <heure>"', async () => {
    const start = Date.now() + 62000; // reminder 1 minute before: due in ~2 s
    const r = await client.call('Create', {
      event: { kind: 'AGENDA_KIND_RAPPEL', title: 'Prendre la tension', start_ms: start, end_ms: start + 600000, reminder_minutes: [1] },
    });
    assert.equal(r.code, 0);
    const notice = page.locator('#reminders .notice', { hasText: 'Rappel : Prendre la tension à' });
    await notice.waitFor({ timeout: 10000 });
    assert.match(await notice.innerText(), new RegExp(`Rappel : Prendre la tension à ${hhmm(start)}`));
  });

  test('the .ics download parses with ical.js and holds the events', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10000 }),
      page.getByRole('button', { name: 'Télécharger l’agenda (.ics)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'agenda.ics');
    const file = path.join(profileDir, 'agenda.ics');
    await download.saveAs(file);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^BEGIN:VCALENDAR\r\n/);
    const ICAL = (await import(req.resolve('ical.js'))).default;
    const cal = new ICAL.Component(ICAL.parse(text));
    const events = cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
    assert.equal(events.length, 3);
    const pro = events.find((e) => e.summary === 'Consultation Dr Bernard');
    assert.ok(pro, 'the professional\'s event');
    assert.equal(pro.startDate.toJSDate().getTime(), todayAt(15, 0));
    assert.equal(pro.endDate.toJSDate().getTime(), todayAt(15, 30));
    assert.match(pro.uid, /^[0-9a-f]{32}@espace$/);
    const mine = events.find((e) => e.summary === 'Dentiste (mon titre)');
    assert.ok(mine);
    assert.equal(mine.startDate.toJSDate().getTime(), todayAt(10, 0));
    assert.equal(mine.component.getFirstPropertyValue('status'), 'CANCELLED');
    assert.equal(mine.location, 'Cabinet dentaire, 3 rue des Lilas, Lyon');
    await page.getByText('Le fichier agenda.ics a été téléchargé.').waitFor();
  });

  test('list view of upcoming events, and week navigation', async () => {
    await page.getByRole('button', { name: 'À venir' }).click();
    await page.locator('#list-title').waitFor();
    assert.equal(await page.getByRole('button', { name: 'À venir' }).getAttribute('aria-pressed'), 'true');
    await page.locator('.agenda-list button.event', { hasText: 'Prendre la tension' }).waitFor();
    await shot(page, '13-agenda-liste');
    await page.getByRole('button', { name: 'Semaine', exact: true }).click();
    const first = await page.locator('ol.week > li.day').first().getAttribute('data-date');
    await page.getByRole('button', { name: 'Semaine suivante' }).click();
    await page.waitForFunction((d) => document.querySelector('ol.week > li.day')?.dataset.date !== d, first);
    const next = await page.locator('ol.week > li.day').first().getAttribute('data-date');
    assert.equal((Date.parse(`${next}T12:00:00Z`) - Date.parse(`${first}T12:00:00Z`)) / 86400000, 7);
    assert.equal(await page.locator('li.day.today').count(), 0);
    await page.getByRole('button', { name: 'Aujourd’hui' }).click();
    await page.locator('li.day.today').waitFor();
  });

  test('week view: the width of the other pages, events on an hour grid, "1er" for the first', async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    const agendaWidth = await page.locator('#main').evaluate((e) => e.getBoundingClientRect().width);
    await page.getByRole('link', { name: 'Accueil', exact: true }).click();
    await expectH1(page, 'Bonjour');
    const homeWidth = await page.locator('#main').evaluate((e) => e.getBoundingClientRect().width);
    assert.equal(agendaWidth, homeWidth, 'the agenda keeps the width of the other pages');
    await page.getByRole('link', { name: 'Agenda', exact: true }).click();
    await page.locator('li.day.today button.event').first().waitFor();
    // each timed event sits at its hours: top and height in proportion to the grid
    // (measured once the layout is complete: under load a re-render may be in progress,
    // a grid of height 0 gives NaN; bounded: 50 tries, 100 ms apart)
    let placed = [];
    for (let i = 0; i < 50; i += 1) {
      placed = await page.locator('li.day.today .day-hours').evaluate((grid) => {
        const g = grid.getBoundingClientRect();
        const hours = document.querySelectorAll('.gutter-hours li').length; // one label an hour
        const first = Number(document.querySelector('.gutter-hours li')?.textContent.slice(0, 2));
        return [...grid.querySelectorAll(':scope > li')].map((li) => {
          const r = li.getBoundingClientRect();
          return { text: li.textContent, at: first + ((r.top - g.top) / g.height) * hours,
            hours: (r.height / g.height) * hours, left: r.left - g.left, width: r.width };
        });
      });
      if (placed.length && placed.every((p) => Number.isFinite(p.at) && Number.isFinite(p.hours))) break;
      await page.waitForTimeout(100);
    }
    const at = (title) => placed.find((p) => p.text.includes(title));
    for (const [title, start, len] of [['Dentiste', 10, 1], ['Consultation Dr Bernard', 15, 0.5]]) {
      const p = at(title);
      assert.ok(p, `${title} on the grid`);
      assert.ok(Math.abs(p.at - start) < 0.05, `${title} starts at ${p.at} h, not ${start} h`);
      assert.ok(Math.abs(p.hours - len) < 0.05, `${title} lasts ${p.hours} h, not ${len} h`);
    }
    // the hour labels line up across the days (subgrid): every day's grid starts at one height
    const tops = await page.locator('ol.week .day-hours').evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
    assert.equal(new Set(tops).size, 1, `day grids at ${tops}`);
    await shot(page, '17-agenda-grille-horaire');
    // "1er" on the first of a month: the week holding one (at most 5 weeks ahead)
    for (let i = 0; i < 6; i += 1) {
      const first = page.locator('ol.week > li.day[data-date$="-01"]');
      if (await first.count()) {
        assert.match(await first.locator('h3').innerText(), /^\w+ 1er \w+/u);
        const dates = await page.locator('ol.week > li.day').evaluateAll((els) => els.map((e) => e.dataset.date));
        if (dates[0].endsWith('-01') || dates[6].endsWith('-01')) {
          assert.match(await page.locator('#week-title').innerText(), /1er/); // "du 1er au 7 mars"
        }
        break;
      }
      assert.ok(i < 5, 'no first of a month within 5 weeks');
      const before = await page.locator('ol.week > li.day').first().getAttribute('data-date');
      await page.getByRole('button', { name: 'Semaine suivante' }).click();
      await page.waitForFunction((d) => document.querySelector('ol.week > li.day')?.dataset.date !== d, before);
    }
    await shot(page, '18-agenda-premier-du-mois');
    await page.getByRole('button', { name: 'Aujourd’hui' }).click();
    await page.locator('li.day.today').waitFor();
  });

  test('phone screen (390x844): no horizontal scrolling, days stacked', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('li.day.today button.event').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
    const boxes = await page.locator('ol.week > li.day').evaluateAll((els) => els.slice(0, 2).map((e) => e.getBoundingClientRect().top));
    assert.ok(boxes[1] > boxes[0], 'days are stacked');
    // the first screen shows days, not only buttons: from the top, with a notice cleared
    await page.evaluate(() => { document.getElementById('agenda-live')?.replaceChildren(); window.scrollTo(0, 0); });
    await page.locator('#reminders .link').evaluateAll((els) => els.forEach((e) => e.click()));
    const heads = await page.locator('ol.week > li.day h3').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().bottom));
    const shown = heads.filter((b) => b <= 844).length;
    assert.ok(shown >= 2, `only ${shown} day headings on the first phone screen`);
    // every day shows its heading (today's too, above its events)
    const today = page.locator('li.day.today');
    const hBox = await today.locator('h3').boundingBox();
    const eBox = await today.locator('button.event').first().boundingBox();
    assert.ok(hBox && eBox && hBox.y + hBox.height <= eBox.y, 'today\'s heading above its events');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, '14-agenda-mobile-premier-ecran.png') });
    await shot(page, '14-agenda-mobile');
    await page.getByRole('button', { name: 'À venir' }).click();
    await page.locator('#list-title').waitFor();
    await shot(page, '15-agenda-liste-mobile');
    await page.getByRole('button', { name: 'Nouvel événement' }).click();
    await page.locator('#panel-title', { hasText: 'Nouvel événement' }).waitFor();
    const over2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over2 <= 0, `horizontal overflow ${over2}px in the form`);
    await shot(page, '16-agenda-formulaire-mobile');
  });

  test('no console error, page error or CSP violation', () => {
    assert.deepEqual(problems, []);
  });
});
