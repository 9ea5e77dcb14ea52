// Screen "Agenda": the patient's health events (agenda service,
// docs/agenda.md) in a week view (Monday first, Europe/Paris) and a list of
// upcoming events; create, edit and cancel own events; live updates from the
// topic "patient.<id>.agenda" without reload, with ListChanges to catch up
// after a reconnect or a Resync; download of the iCalendar export.
//
// Events the screen has seen are kept in one map (hex id -> AgendaEvent,
// newest version wins); the views filter it by time. `lastVersion` is the
// patient's change version the map is up to date with.
import { h, hex, notice, nextId } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { Code, EspaceError, describeError } from '../errors.js';
import { STATE } from '../protocol.js';
import {
  DAY_MS, parisWeek, parisDate, dayStart, addDays, sameDate, parisToUtc, dateValue,
  parseDateValue, timeValue, parseTimeValue, formatTime, formatDay, formatDayShort,
  formatFullDate, formatWeekRange,
} from '../agenda-time.js';

const T = { type: 'Agenda' }; // agenda messages are named Agenda<Method>Request/Reply
const KIND = { RDV: 1, HOSPITALISATION: 2, RAPPEL: 3, TACHE_SANTE: 4 };
const STATUS = { BOOKED: 3, FULFILLED: 5, CANCELLED: 6, NOSHOW: 7, ENTERED_IN_ERROR: 8 };
const FINAL = new Set([STATUS.FULFILLED, STATUS.CANCELLED, STATUS.NOSHOW, STATUS.ENTERED_IN_ERROR]);
const SOURCE_PATIENT = 1;
const PRINCIPAL_PATIENT = 1;
const CHANGE_DELETED = 4;
const PAGE = 500;
const MAX_PAGES = 20;
const UPCOMING_DAYS = 366;
const UPCOMING_MAX = 200;

/** "Rappel : <titre> à <heure>" for an AgendaReminder (app-wide notice). */
export function reminderText(rem) {
  const ev = rem && rem.event;
  if (!ev || !ev.title) return '';
  const day = parisDate(ev.start_ms);
  if (ev.all_day) return fr.agenda.reminderAllDay(ev.title, formatDay(day));
  if (sameDate(day, parisDate(Date.now()))) return fr.agenda.reminder(ev.title, formatTime(ev.start_ms));
  return fr.agenda.reminder(ev.title, `${formatTime(ev.start_ms)} (${formatDay(day)})`);
}

const isOwn = (ev) => ev.source === SOURCE_PATIENT;
const isFinal = (ev) => FINAL.has(ev.status);

/** "09:00 – 10:00", "Toute la journée", "Toute la journée, jusqu'au ..." */
function whenText(ev) {
  if (ev.all_day) {
    const last = parisDate(ev.end_ms - 1);
    return sameDate(parisDate(ev.start_ms), last) ? fr.agenda.allDay
      : `${fr.agenda.allDay}, ${fr.agenda.untilDay(formatDay(last))}`;
  }
  const end = sameDate(parisDate(ev.start_ms), parisDate(ev.end_ms - 1))
    ? formatTime(ev.end_ms) : `${formatDayShort(parisDate(ev.end_ms))} ${formatTime(ev.end_ms)}`;
  return fr.agenda.timeRange(formatTime(ev.start_ms), end);
}

function byStart(a, b) {
  return (a.start_ms - b.start_ms) || (a.all_day === b.all_day ? 0 : a.all_day ? -1 : 1) ||
    a.title.localeCompare(b.title);
}

export function render(ctx) {
  const me = ctx.session.me;
  const patientId = me.caller.principal;
  const topic = `patient.${patientId}.agenda`;
  const known = new Map(); // hex id -> AgendaEvent
  let lastVersion = null;  // patient's change version we are up to date with
  let view = 'week';
  let anchor = Date.now(); // an instant of the week shown
  let panel = null;        // { ev } (ev null: new event)
  let alive = true;
  const offs = [];

  const live = h('div', { className: 'live', role: 'status', id: 'agenda-live' });
  const alert = h('div', { className: 'live', role: 'alert', id: 'agenda-alert' });
  const panelSlot = h('div', { id: 'agenda-panel-slot' });
  const viewSlot = h('div', { id: 'agenda-view' });
  const weekBtn = h('button', { type: 'button', className: 'secondary', 'aria-pressed': 'true', onclick: () => setView('week') }, fr.agenda.week);
  const listBtn = h('button', { type: 'button', className: 'secondary', 'aria-pressed': 'false', onclick: () => setView('list') }, fr.agenda.list);
  const exportBtn = h('button', { type: 'button', className: 'secondary', id: 'agenda-export', onclick: () => exportIcs() }, fr.agenda.exportIcs);

  function say(text) {
    live.replaceChildren(notice('info', text));
  }
  function fail(err) {
    alert.replaceChildren(notice('error', describeError(err)));
  }

  // ---- data ----

  /** Keep `ev` unless we already hold a newer version of it. */
  function keep(ev) {
    const id = hex(ev.id);
    const old = known.get(id);
    if (old && old.version > ev.version) return false;
    known.set(id, ev);
    return true;
  }

  function applyChange(ch) {
    if (!ch.event) return;
    if (ch.kind === CHANGE_DELETED) known.delete(hex(ch.event.id));
    else keep(ch.event);
    if (ch.previous) keep(ch.previous);
    if (panel && panel.ev && hex(panel.ev.id) === hex(ch.event.id)) panel.stale = true;
  }

  let syncing = null;
  let syncAgain = false;
  /** Catch up with ListChanges from lastVersion (everything at first). */
  function sync() {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        let since = lastVersion || 0;
        for (let page = 0; page < MAX_PAGES; page++) {
          const r = await ctx.conn.call('agenda', 'ListChanges', { since_version: since, limit: PAGE }, T);
          for (const ch of r.changes) applyChange(ch);
          since = Math.max(since, r.last_version);
          if (!r.more) break;
        }
        lastVersion = Math.max(lastVersion || 0, since);
      } while (syncAgain && alive);
    })().finally(() => { syncing = null; });
    return syncing;
  }

  /** Every event overlapping [from, to) into the map (List, paged). Returns false when cut short. */
  async function loadRange(from, to, max = PAGE * MAX_PAGES) {
    let cursor = new Uint8Array(0);
    let n = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await ctx.conn.call('agenda', 'List', { from_ms: from, to_ms: to, limit: PAGE, cursor }, T);
      for (const ev of r.events) keep(ev);
      n += r.events.length;
      if (!r.next_cursor.length) return true;
      if (n >= max) return false;
      cursor = r.next_cursor;
    }
    return false;
  }

  function eventsIn(from, to) {
    return [...known.values()].filter((ev) => ev.start_ms < to && ev.end_ms > from).sort(byStart);
  }

  // ---- live updates ----

  offs.push(ctx.conn.on('event', (ev) => {
    if (ev.topic !== topic) return; // reminders are shown by the app shell
    let ch;
    try {
      ch = ctx.conn.codec.decode('espace.v1.AgendaChange', ev.body);
    } catch (err) {
      console.warn('espace: undecodable agenda change', err.message);
      return;
    }
    const gap = lastVersion !== null && ch.change_version > lastVersion + 1;
    applyChange(ch);
    if (lastVersion !== null && !gap) lastVersion = Math.max(lastVersion, ch.change_version);
    if (ch.event && ch.kind !== CHANGE_DELETED && ch.event.updated_by_kind !== PRINCIPAL_PATIENT) {
      say(fr.agenda.liveChanged(ch.event.title));
    }
    if (gap) sync().then(redraw, () => {});
    redraw();
  }));
  offs.push(ctx.conn.on('resync', () => { sync().then(redraw, fail); }));
  let wasOnline = ctx.conn.state === STATE.ONLINE;
  offs.push(ctx.conn.on('state', (s) => {
    if (s === STATE.ONLINE && !wasOnline && lastVersion !== null) sync().then(redraw, () => {});
    wasOnline = s === STATE.ONLINE;
  }));

  // ---- views ----

  function eventItem(ev) {
    const cancelled = ev.status === STATUS.CANCELLED || ev.status === STATUS.ENTERED_IN_ERROR;
    return h('li', {},
      h('button', {
        type: 'button',
        className: `event kind-${ev.kind}${cancelled ? ' cancelled' : ''}`,
        'data-event-id': hex(ev.id),
        onclick: (e) => openPanel(ev, null, e.currentTarget),
      },
      h('span', { className: 'ev-time' }, whenText(ev)),
      h('span', { className: 'ev-title' }, ev.title),
      h('span', { className: 'ev-meta' },
        h('span', { className: `tag kind kind-${ev.kind}` }, fr.agenda.kinds[ev.kind] || ''),
        ' ',
        h('span', { className: `status status-${ev.status}` }, fr.agenda.statuses[ev.status] || ''),
        isOwn(ev) ? null : h('span', { className: 'ev-source' }, ` · ${fr.agenda.byPro}`))));
  }

  function weekView() {
    const week = parisWeek(anchor);
    const today = parisDate(Date.now());
    const range = formatWeekRange(week.days[0].date, week.days[6].date);
    const events = eventsIn(week.from, week.to);
    return h('section', { className: 'card agenda-week', 'aria-labelledby': 'week-title' },
      h('div', { className: 'week-nav' },
        h('button', { type: 'button', className: 'secondary', id: 'week-prev', onclick: () => moveWeek(-1) },
          h('span', { 'aria-hidden': 'true' }, '‹ '), fr.agenda.prevWeek),
        h('h2', { id: 'week-title', tabIndex: -1 }, fr.agenda.weekTitle(range.from, range.to)),
        h('button', { type: 'button', className: 'secondary', id: 'week-today', onclick: () => moveWeek(0) }, fr.agenda.today),
        h('button', { type: 'button', className: 'secondary', id: 'week-next', onclick: () => moveWeek(1) },
          fr.agenda.nextWeek, h('span', { 'aria-hidden': 'true' }, ' ›'))),
      h('ol', { className: 'week' }, week.days.map((day) => {
        const list = events.filter((ev) => ev.start_ms < day.to && ev.end_ms > day.from);
        const isToday = sameDate(day.date, today);
        const label = formatDay(day.date);
        return h('li', { className: `day${isToday ? ' today' : ''}`, 'data-date': dateValue(day.date) },
          h('h3', { 'aria-current': isToday ? 'date' : null }, label,
            isToday ? h('span', { className: 'today-tag' }, ` · ${fr.agenda.today}`) : null),
          list.length ? h('ul', { className: 'day-events' }, list.map(eventItem))
            : h('p', { className: 'day-empty' }, fr.agenda.dayEmpty),
          h('button', {
            type: 'button', className: 'link add', 'aria-label': fr.agenda.addOn(label),
            onclick: (e) => openPanel(null, day.date, e.currentTarget),
          }, `+ ${fr.agenda.add}`));
      })));
  }

  let upcomingCut = false;
  function listView() {
    const now = Date.now();
    const events = eventsIn(now, now + UPCOMING_DAYS * DAY_MS).slice(0, UPCOMING_MAX);
    const groups = [];
    for (const ev of events) {
      const d = parisDate(Math.max(ev.start_ms, now));
      const g = groups[groups.length - 1];
      if (g && sameDate(g.date, d)) g.events.push(ev);
      else groups.push({ date: d, events: [ev] });
    }
    return h('section', { className: 'card agenda-list', 'aria-labelledby': 'list-title' },
      h('h2', { id: 'list-title', tabIndex: -1 }, fr.agenda.upcomingTitle),
      groups.length === 0 ? h('p', {}, fr.agenda.upcomingEmpty) : null,
      groups.map((g) => h('section', { className: 'list-day', 'aria-label': formatFullDate(g.date) },
        h('h3', {}, formatFullDate(g.date)),
        h('ul', { className: 'day-events' }, g.events.map(eventItem)))),
      upcomingCut ? h('p', { className: 'aside' }, fr.agenda.upcomingMore) : null);
  }

  function redraw() {
    if (!alive) return;
    // keep the focus on the same control across the redraw
    const active = document.activeElement;
    const focusId = active && viewSlot.contains(active)
      ? (active.dataset.eventId ? `[data-event-id="${active.dataset.eventId}"]` : active.id ? `#${active.id}` : null)
      : null;
    viewSlot.replaceChildren(view === 'week' ? weekView() : listView());
    if (focusId) viewSlot.querySelector(focusId)?.focus();
  }

  async function loadView() {
    try {
      if (view === 'week') {
        const week = parisWeek(anchor);
        await loadRange(week.from, week.to);
      } else {
        const now = Date.now();
        upcomingCut = !(await loadRange(now, now + UPCOMING_DAYS * DAY_MS, UPCOMING_MAX));
      }
      redraw();
    } catch (err) {
      fail(err);
    }
  }

  function setView(v) {
    view = v;
    weekBtn.setAttribute('aria-pressed', String(v === 'week'));
    listBtn.setAttribute('aria-pressed', String(v === 'list'));
    redraw();
    loadView();
  }

  function moveWeek(n) {
    if (n === 0) anchor = Date.now();
    else {
      const week = parisWeek(anchor);
      // noon of the Monday of the next or previous week: never on a DST edge
      const monday = addDays(week.days[0].date, 7 * n);
      anchor = parisToUtc(monday.y, monday.m, monday.d, 12, 0);
    }
    redraw();
    document.getElementById('week-title')?.focus();
    loadView();
  }

  // ---- the panel: details, form, cancel ----

  /** Date proposed for a new event: today when the week shown holds it, else its Monday. */
  function defaultDate() {
    const week = parisWeek(anchor);
    const now = Date.now();
    return now >= week.from && now < week.to ? parisDate(now) : week.days[0].date;
  }

  let returnFocus = null;
  function closePanel() {
    panel = null;
    panelSlot.replaceChildren();
    const back = returnFocus && returnFocus.isConnected ? returnFocus
      : (returnFocus && returnFocus.dataset.eventId
        && viewSlot.querySelector(`[data-event-id="${returnFocus.dataset.eventId}"]`));
    (back || document.getElementById('agenda-title'))?.focus();
    returnFocus = null;
  }

  function openPanel(ev, date, from, message) {
    if (from) returnFocus = from;
    panel = { ev, stale: false };
    alert.replaceChildren();
    const el = ev && (!isOwn(ev) || isFinal(ev)) ? detailsPanel(ev, message) : formPanel(ev, date, message);
    panelSlot.replaceChildren(el);
    el.querySelector('h2')?.focus();
  }

  function detailsPanel(ev, message) {
    const rows = [
      [fr.agenda.kindLabel, fr.agenda.kinds[ev.kind] || ''],
      [fr.agenda.date, formatFullDate(parisDate(ev.start_ms))],
      [fr.agenda.hours, whenText(ev)],
      [fr.agenda.statusLabel, fr.agenda.statuses[ev.status] || ''],
      ev.location ? [fr.agenda.where, ev.location] : null,
      ev.description ? [fr.agenda.description, ev.description] : null,
      ev.participants.length ? [fr.agenda.participants,
        ev.participants.map((p) => p.display || (fr.agenda.actor[p.actor_type] || String)(p.actor_id)).join(', ')] : null,
      ev.reminder_minutes.length ? [fr.agenda.reminders, reminderLabels(ev.reminder_minutes)] : null,
    ].filter(Boolean);
    const cancelSlot = h('div', {});
    return h('section', { className: 'card agenda-panel', 'aria-labelledby': 'panel-title', id: 'agenda-panel' },
      h('h2', { id: 'panel-title', tabIndex: -1 }, ev.title),
      message ? notice('error', message) : null,
      h('p', { className: 'aside' }, isFinal(ev) ? fr.agenda.finalState : (fr.agenda.bySource[ev.source] || fr.agenda.readOnly)),
      h('dl', { className: 'details' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      cancelSlot,
      h('div', { className: 'actions' },
        isFinal(ev) ? null : h('button', { type: 'button', className: 'secondary', onclick: () => showCancel(ev, cancelSlot) }, fr.agenda.cancelEvent),
        h('button', { type: 'button', className: 'secondary', onclick: closePanel }, fr.agenda.close)));
  }

  function reminderLabels(list) {
    return list.slice().sort((a, b) => b - a).map((m) => {
      const c = fr.agenda.reminderChoices.find(([v]) => v === m);
      return c ? c[1] : fr.agenda.reminderOther(m);
    }).join(', ');
  }

  function labelled(label, input, hint) {
    const hintId = hint ? `${input.id}-hint` : null;
    const msg = h('p', { id: `${input.id}-msg`, className: 'field-msg' });
    input.setAttribute('aria-describedby', [hintId, msg.id].filter(Boolean).join(' '));
    const wrap = h('div', { className: 'field' },
      h('label', { for: input.id }, label),
      hint ? h('p', { id: hintId, className: 'hint' }, hint) : null,
      input, msg);
    return {
      wrap,
      input,
      setError(text) {
        msg.textContent = text || '';
        msg.className = text ? 'field-msg error' : 'field-msg';
        if (text) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      },
    };
  }

  function formPanel(ev, date, message) {
    const edit = Boolean(ev);
    const start = ev ? ev.start_ms : null;
    const day = ev ? parisDate(ev.start_ms) : (date || parisDate(Date.now()));
    const kind = labelled(fr.agenda.kind, h('select', { id: nextId('ag-kind'), name: 'kind' },
      Object.values(KIND).map((k) => h('option', { value: String(k), selected: ev ? ev.kind === k : k === KIND.RDV }, fr.agenda.kinds[k]))));
    const title = labelled(fr.agenda.titleField, h('input', { id: nextId('ag-title'), name: 'title', type: 'text', required: true, maxLength: 200, value: ev ? ev.title : '' }), fr.agenda.titleHint);
    const dateF = labelled(fr.agenda.date, h('input', { id: nextId('ag-date'), name: 'date', type: 'date', required: true, value: dateValue(day) }));
    const allDay = h('input', { id: nextId('ag-allday'), name: 'all_day', type: 'checkbox', checked: ev ? ev.all_day : false });
    const defStart = start !== null && !ev.all_day ? timeValue(start) : '09:00';
    const defEnd = ev && !ev.all_day ? timeValue(ev.end_ms) : '10:00';
    const startF = labelled(fr.agenda.start, h('input', { id: nextId('ag-start'), name: 'start', type: 'time', value: defStart }));
    const endF = labelled(fr.agenda.end, h('input', { id: nextId('ag-end'), name: 'end', type: 'time', value: defEnd }));
    const times = h('div', { className: 'field-row' }, startF.wrap, endF.wrap);
    const syncTimes = () => { times.hidden = allDay.checked; };
    allDay.addEventListener('change', syncTimes);
    syncTimes();
    const location = labelled(fr.agenda.location, h('input', { id: nextId('ag-loc'), name: 'location', type: 'text', required: false, maxLength: 300, value: ev ? ev.location : '' }), fr.agenda.locationHint);
    const description = labelled(fr.agenda.description, h('textarea', { id: nextId('ag-desc'), name: 'description', rows: 3, maxLength: 4000, value: ev ? ev.description : '' }), fr.agenda.descriptionHint);
    const current = new Set(ev ? ev.reminder_minutes : []);
    const choices = [...fr.agenda.reminderChoices];
    for (const m of current) if (!choices.some(([v]) => v === m)) choices.push([m, fr.agenda.reminderOther(m)]);
    const boxes = choices.map(([m, label]) => {
      const id = nextId(`ag-rem-${m}`);
      const box = h('input', { type: 'checkbox', id, value: String(m), checked: current.has(m) });
      return { m, box, el: h('div', { className: 'check' }, box, h('label', { for: id }, label)) };
    });
    const remindersHintId = nextId('ag-rem-hint');
    const summary = h('div', { className: 'form-error', role: 'alert', tabIndex: -1 });
    const status = h('p', { className: 'form-status', role: 'status' });
    const save = h('button', { type: 'submit', className: 'primary' }, fr.agenda.save);
    const cancelSlot = h('div', {});

    const form = h('form', { noValidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
      summary,
      kind.wrap, title.wrap, dateF.wrap,
      h('div', { className: 'check field' }, allDay, h('label', { for: allDay.id }, fr.agenda.allDayField)),
      times, location.wrap, description.wrap,
      h('fieldset', { className: 'field', 'aria-describedby': remindersHintId },
        h('legend', {}, fr.agenda.reminders),
        h('p', { className: 'hint', id: remindersHintId }, fr.agenda.remindersHint),
        boxes.map((b) => b.el)),
      h('div', { className: 'actions' }, save,
        edit && !isFinal(ev) ? h('button', { type: 'button', className: 'secondary', onclick: () => showCancel(ev, cancelSlot) }, fr.agenda.cancelEvent) : null,
        h('button', { type: 'button', className: 'secondary', onclick: closePanel }, fr.agenda.close)),
      status);

    function check() {
      const errors = [];
      const err = (f, text) => { f.setError(text); if (text) errors.push([f.input.id, text]); };
      const t = title.input.value.trim();
      err(title, !t ? fr.agenda.titleEmpty : [...t].length > 200 ? fr.agenda.titleLong : '');
      const d = parseDateValue(dateF.input.value);
      err(dateF, d ? '' : fr.agenda.dateEmpty);
      let s = null;
      let e = null;
      if (!allDay.checked) {
        s = parseTimeValue(startF.input.value);
        e = parseTimeValue(endF.input.value);
        err(startF, s ? '' : fr.agenda.startEmpty);
        err(endF, !e ? fr.agenda.endEmpty
          : s && e.hh * 60 + e.mm <= s.hh * 60 + s.mm ? fr.agenda.endBeforeStart : '');
      } else {
        startF.setError('');
        endF.setError('');
      }
      err(location, [...location.input.value].length > 300 ? fr.agenda.locationLong : '');
      err(description, [...description.input.value].length > 4000 ? fr.agenda.descriptionLong : '');
      summary.replaceChildren(...(errors.length ? [h('p', {}, fr.form.errorsTitle),
        h('ul', {}, errors.map(([id, text]) => h('li', {}, h('a', {
          href: `#${id}`, onclick: (x) => { x.preventDefault(); document.getElementById(id)?.focus(); },
        }, text))))] : []));
      if (errors.length) {
        summary.focus();
        return null;
      }
      const out = {
        kind: Number(kind.input.value),
        title: t,
        location: location.input.value.trim(),
        description: description.input.value,
        all_day: allDay.checked,
        reminder_minutes: boxes.filter((b) => b.box.checked).map((b) => b.m),
      };
      if (allDay.checked) {
        out.start_ms = dayStart(d);
        // keep the length of a several-day event that stays on its first day
        out.end_ms = ev && ev.all_day && ev.start_ms === out.start_ms ? ev.end_ms : 0;
      } else {
        out.start_ms = parisToUtc(d.y, d.m, d.d, s.hh, s.mm);
        out.end_ms = parisToUtc(d.y, d.m, d.d, e.hh, e.mm);
      }
      return out;
    }

    async function submit() {
      const content = check();
      if (!content) return;
      save.disabled = true;
      status.textContent = fr.agenda.saving;
      try {
        let saved;
        if (edit) {
          saved = (await ctx.conn.call('agenda', 'Update', { event: { ...ev, ...content, version: ev.version } }, T)).event;
        } else {
          saved = (await ctx.conn.call('agenda', 'Create', { event: content }, T)).event;
        }
        keep(saved);
        anchor = saved.start_ms;
        closePanel();
        say(edit ? fr.agenda.updated(saved.title) : fr.agenda.created(saved.title));
        redraw();
        const btn = viewSlot.querySelector(`[data-event-id="${hex(saved.id)}"]`);
        if (btn) btn.focus();
      } catch (err) {
        save.disabled = false;
        status.textContent = '';
        if (edit && err instanceof EspaceError && err.code === Code.ABORTED) {
          await reopenFresh(ev, fr.agenda.conflict);
          return;
        }
        const label = err instanceof EspaceError && fr.agenda.fields[err.field];
        summary.replaceChildren(notice('error', label ? fr.errors.field(label, describeError(err)) : describeError(err)));
        summary.focus();
      }
    }

    return h('section', { className: 'card agenda-panel', 'aria-labelledby': 'panel-title', id: 'agenda-panel' },
      h('h2', { id: 'panel-title', tabIndex: -1 }, edit ? fr.agenda.formEdit : fr.agenda.formNew),
      message ? notice('error', message) : null,
      form, cancelSlot);
  }

  /** After a conflict: read the event again and show it with `message`. */
  async function reopenFresh(ev, message) {
    try {
      const fresh = (await ctx.conn.call('agenda', 'Get', { event_id: ev.id }, T)).event;
      keep(fresh);
      redraw();
      openPanel(fresh, null, null, message);
    } catch (err) {
      if (err instanceof EspaceError && err.code === Code.NOT_FOUND) {
        known.delete(hex(ev.id));
        closePanel();
        alert.replaceChildren(notice('error', fr.agenda.gone));
        redraw();
      } else {
        fail(err);
      }
    }
  }

  function showCancel(ev, slot) {
    const reason = h('input', { id: nextId('ag-reason'), type: 'text', maxLength: 500, required: false });
    const msg = h('div', { className: 'live', role: 'alert' });
    const confirm = h('button', { type: 'button', className: 'primary danger', id: 'cancel-confirm', onclick: () => doCancel() }, fr.agenda.cancelConfirm);
    const box = h('div', { className: 'cancel-box', role: 'group', 'aria-labelledby': 'cancel-title' },
      h('h3', { id: 'cancel-title', tabIndex: -1 }, fr.agenda.cancelTitle),
      h('div', { className: 'field' }, h('label', { for: reason.id }, fr.agenda.cancelReason), reason),
      msg,
      h('div', { className: 'actions' }, confirm,
        h('button', { type: 'button', className: 'secondary', onclick: () => slot.replaceChildren() }, fr.agenda.cancelKeep)));
    slot.replaceChildren(box);
    box.querySelector('h3').focus();

    async function doCancel() {
      confirm.disabled = true;
      try {
        const r = await ctx.conn.call('agenda', 'Cancel', {
          event_id: ev.id, reason: reason.value.trim(), expected_version: ev.version,
        }, T);
        keep(r.event);
        closePanel();
        say(fr.agenda.cancelled(r.event.title));
        redraw();
      } catch (err) {
        confirm.disabled = false;
        if (err instanceof EspaceError && err.code === Code.ABORTED) {
          await reopenFresh(ev, fr.agenda.conflict);
          return;
        }
        msg.replaceChildren(notice('error', describeError(err)));
      }
    }
  }

  // ---- export ----

  async function exportIcs() {
    exportBtn.disabled = true;
    say(fr.agenda.exportBusy);
    try {
      const r = await ctx.conn.call('agenda', 'ExportIcs', {}, T);
      const blob = new Blob([r.ics], { type: 'text/calendar;charset=utf-8' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'agenda.ics', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say(r.truncated ? `${fr.agenda.exportDone} ${fr.agenda.exportTruncated}` : fr.agenda.exportDone);
    } catch (err) {
      live.replaceChildren();
      fail(err);
    } finally {
      exportBtn.disabled = false;
    }
  }

  // ---- start ----

  viewSlot.replaceChildren(h('p', { className: 'loading' }, fr.app.loading));
  (async () => {
    try {
      await sync();
      if (!alive) return;
      redraw();
      await loadView();
    } catch (err) {
      if (!alive) return;
      redraw();
      fail(err);
    }
  })();

  return {
    title: fr.agenda.title,
    destroy() {
      alive = false;
      for (const off of offs) off();
    },
    el: h('section', { className: 'screen agenda' },
      h('h1', { tabIndex: -1, id: 'agenda-title' }, fr.agenda.title),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', {}, fr.agenda.intro),
      live, alert,
      h('div', { className: 'agenda-toolbar' },
        h('div', { className: 'view-switch', role: 'group', 'aria-label': fr.agenda.views }, weekBtn, listBtn),
        h('button', { type: 'button', className: 'primary', id: 'agenda-new', onclick: (e) => openPanel(null, defaultDate(), e.currentTarget) }, fr.agenda.newEvent),
        exportBtn),
      panelSlot,
      viewSlot),
  };
}
