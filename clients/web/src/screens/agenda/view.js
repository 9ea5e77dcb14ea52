// The agenda screen's views of the store: the week (Monday first,
// Europe/Paris, one column per day on an hour grid: timed events placed at
// their hours, side by side when they overlap, all-day ones above; each day
// with an "Ajouter" button; on a phone the days stack as lists, style.css)
// and "À venir" (the next 12 months grouped by day, at most 200 events); the
// view switch, the week navigation, and a redraw that keeps the focus on the
// same control. Clicking an event or "Ajouter" calls `onOpen(ev, date, button)`.
import { h, hex } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import {
  DAY_MS, parisWeek, parisDate, addDays, sameDate, parisToUtc, dateValue, formatDay,
  formatFullDate, formatWeekRange,
} from '../../agenda-time.js';
import { isOwn, isCancelled, whenText, kindClass, kindLabel, statusClass, statusLabel } from './event.js';

const UPCOMING_DAYS = 366;
const UPCOMING_MAX = 200;
const GRID_FIRST = 8; // hours shown by default, widened to the week's events
const GRID_LAST = 19;
const HOUR_MS = 3600000;

/** The hours [first, last) of the week's grid: 8 h to 19 h, widened to hold
 *  every timed event of the days (Paris hours). */
export function gridHours(events, days) {
  let first = GRID_FIRST;
  let last = GRID_LAST;
  for (const day of days) {
    for (const ev of events) {
      if (ev.all_day || ev.start_ms >= day.to || ev.end_ms <= day.from) continue;
      const a = Math.max(ev.start_ms, day.from) - day.from;
      const b = Math.min(ev.end_ms, day.to) - day.from;
      first = Math.min(first, Math.floor(a / HOUR_MS));
      last = Math.max(last, Math.ceil(b / HOUR_MS));
    }
  }
  return { first: Math.max(0, first), last: Math.min(24, Math.max(last, first + 1)) };
}

/** Lanes of a day's timed events: events that overlap go side by side.
 *  [{ ev, lane, lanes }] in start order. */
export function dayLanes(list) {
  const out = [];
  let group = [];
  let groupEnd = -Infinity;
  const close = () => {
    const lanes = group.reduce((n, g) => Math.max(n, g.lane + 1), 0);
    for (const g of group) g.lanes = lanes;
    out.push(...group);
    group = [];
  };
  for (const ev of [...list].sort((a, b) => a.start_ms - b.start_ms || b.end_ms - a.end_ms)) {
    if (ev.start_ms >= groupEnd && group.length) close();
    const ends = [];
    for (const g of group) ends[g.lane] = Math.max(ends[g.lane] ?? -Infinity, g.ev.end_ms);
    let lane = 0;
    while (ends[lane] !== undefined && ends[lane] > ev.start_ms) lane += 1;
    group.push({ ev, lane, lanes: 1 });
    groupEnd = Math.max(groupEnd, ev.end_ms);
  }
  if (group.length) close();
  return out;
}

export function createView({ store, isAlive, fail, onOpen }) {
  let view = 'week';
  let anchor = Date.now(); // an instant of the week shown
  let upcomingCut = false;

  const el = h('div', { id: 'agenda-view' });
  const weekBtn = h('button', { type: 'button', className: 'secondary', 'aria-pressed': 'true', onclick: () => setView('week') }, fr.agenda.week);
  const listBtn = h('button', { type: 'button', className: 'secondary', 'aria-pressed': 'false', onclick: () => setView('list') }, fr.agenda.list);

  function eventItem(ev) {
    return h('li', {},
      h('button', {
        type: 'button',
        className: `event ${kindClass(ev)}${isCancelled(ev) ? ' cancelled' : ''}`,
        'data-event-id': hex(ev.id),
        onclick: (e) => onOpen(ev, null, e.currentTarget),
      },
      h('span', { className: 'ev-time' }, whenText(ev)),
      h('span', { className: 'ev-title' }, ev.title),
      h('span', { className: 'ev-meta' },
        h('span', { className: `tag kind ${kindClass(ev)}` }, kindLabel(ev)),
        ' ',
        h('span', { className: `status ${statusClass(ev)}` }, statusLabel(ev)),
        isOwn(ev) ? null : h('span', { className: 'ev-source' }, ` · ${fr.agenda.byPro}`))));
  }

  /** A day's timed events on the hour grid: placed by CSSOM (the CSP allows
   *  no style attribute), in % of the grid's height. */
  function hourGrid(day, list, hours) {
    const span = (hours.last - hours.first) * HOUR_MS;
    const origin = day.from + hours.first * HOUR_MS;
    const items = dayLanes(list).map(({ ev, lane, lanes }) => {
      const li = eventItem(ev);
      const a = Math.max(ev.start_ms, day.from);
      const b = Math.min(ev.end_ms, day.to);
      li.className = 'timed';
      li.style.top = `${((a - origin) / span) * 100}%`;
      li.style.height = `${(Math.max(b - a, 0) / span) * 100}%`;
      li.style.left = `${(lane / lanes) * 100}%`;
      li.style.width = `${100 / lanes}%`;
      return li;
    });
    const grid = h('ul', { className: 'day-events day-hours' }, items);
    grid.style.setProperty('--hours', String(hours.last - hours.first));
    return grid;
  }

  function weekView() {
    const week = parisWeek(anchor);
    const today = parisDate(Date.now());
    const range = formatWeekRange(week.days[0].date, week.days[6].date);
    const events = store.eventsIn(week.from, week.to);
    const hours = gridHours(events, week.days);
    const gutter = h('li', { className: 'hours-gutter', 'aria-hidden': 'true' },
      h('div', { className: 'gutter-head' }),
      h('ol', { className: 'gutter-hours' }, Array.from({ length: hours.last - hours.first },
        (_, i) => h('li', {}, `${String(hours.first + i).padStart(2, '0')} h`))));
    gutter.lastChild.style.setProperty('--hours', String(hours.last - hours.first));
    return h('section', { className: 'card agenda-week', 'aria-labelledby': 'week-title' },
      h('div', { className: 'week-nav' },
        h('button', { type: 'button', className: 'secondary', id: 'week-prev', 'aria-label': fr.agenda.prevWeek, onclick: () => moveWeek(-1) },
          h('span', { 'aria-hidden': 'true' }, '‹'), h('span', { className: 'nav-text' }, ` ${fr.agenda.prevWeek}`)),
        h('h2', { id: 'week-title', tabIndex: -1 }, fr.agenda.weekTitle(range.from, range.to)),
        h('button', { type: 'button', className: 'secondary', id: 'week-today', onclick: () => moveWeek(0) }, fr.agenda.today),
        h('button', { type: 'button', className: 'secondary', id: 'week-next', 'aria-label': fr.agenda.nextWeek, onclick: () => moveWeek(1) },
          h('span', { className: 'nav-text' }, `${fr.agenda.nextWeek} `), h('span', { 'aria-hidden': 'true' }, '›'))),
      h('ol', { className: 'week' }, gutter, week.days.map((day) => {
        const list = events.filter((ev) => ev.start_ms < day.to && ev.end_ms > day.from);
        const allDay = list.filter((ev) => ev.all_day);
        const timed = list.filter((ev) => !ev.all_day);
        const isToday = sameDate(day.date, today);
        const label = formatDay(day.date);
        return h('li', { className: `day${isToday ? ' today' : ''}`, 'data-date': dateValue(day.date) },
          h('div', { className: 'day-head' },
            h('h3', { 'aria-current': isToday ? 'date' : null }, label,
              isToday ? h('span', { className: 'today-tag' }, ` · ${fr.agenda.today}`) : null),
            allDay.length ? h('ul', { className: 'day-events day-allday' }, allDay.map(eventItem)) : null,
            list.length ? null : h('p', { className: 'day-empty' }, fr.agenda.dayEmpty)),
          hourGrid(day, timed, hours),
          h('button', {
            type: 'button', className: 'link add', 'aria-label': fr.agenda.addOn(label),
            onclick: (e) => onOpen(null, day.date, e.currentTarget),
          }, `+ ${fr.agenda.add}`));
      })));
  }

  function listView() {
    const now = Date.now();
    const events = store.eventsIn(now, now + UPCOMING_DAYS * DAY_MS).slice(0, UPCOMING_MAX);
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
    if (!isAlive()) return;
    // keep the focus on the same control across the redraw
    const active = document.activeElement;
    const focusId = active && el.contains(active)
      ? (active.dataset.eventId ? `[data-event-id="${active.dataset.eventId}"]` : active.id ? `#${active.id}` : null)
      : null;
    el.replaceChildren(view === 'week' ? weekView() : listView());
    if (focusId) el.querySelector(focusId)?.focus();
  }

  /** Load what the current view shows (List), then redraw. */
  async function loadView() {
    try {
      if (view === 'week') {
        const week = parisWeek(anchor);
        await store.loadRange(week.from, week.to);
      } else {
        const now = Date.now();
        upcomingCut = !(await store.loadRange(now, now + UPCOMING_DAYS * DAY_MS, UPCOMING_MAX));
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

  return {
    el,
    switcher: h('div', { className: 'view-switch', role: 'group', 'aria-label': fr.agenda.views }, weekBtn, listBtn),
    redraw,
    loadView,

    /** "Chargement…" until the first redraw. */
    showLoading() {
      el.replaceChildren(h('p', { className: 'loading' }, fr.app.loading));
    },

    /** Show the week of instant `ms` at the next redraw (after a save). */
    showWeekOf(ms) {
      anchor = ms;
    },

    /** The shown button of the event with hex id `id`, if any. */
    eventButton(id) {
      return el.querySelector(`[data-event-id="${id}"]`);
    },

    /** Date proposed for a new event: today when the week shown holds it, else its Monday. */
    defaultDate() {
      const week = parisWeek(anchor);
      const now = Date.now();
      return now >= week.from && now < week.to ? parisDate(now) : week.days[0].date;
    },
  };
}
