// Screen "Agenda": the patient's health events (agenda service,
// docs/agenda.md) in a week view (Monday first, Europe/Paris) and a list of
// upcoming events; create, edit and cancel own events; live updates from the
// topic "patient.<id>.agenda" without reload, with ListChanges to catch up
// after a reconnect or a Resync; download of the iCalendar export.
//
// This module lays the screen out and starts it; each part has one job:
//   store.js  the events seen (one map, newest version wins), List and ListChanges
//   view.js   the week and "À venir" views, view switch and week navigation
//   form.js   the panel: create / edit form, details, cancel, conflicts
//   live.js   pushed AgendaChange events, catch-up after a gap, Resync or reconnect
//   event.js  what the parts say about one event (hours, state, reminder text)
import { h, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { describeError } from '../../errors.js';
import { createStore } from './store.js';
import { createView } from './view.js';
import { createPanel } from './form.js';
import { watchLive } from './live.js';

export { reminderText } from './event.js';

export function render(ctx) {
  const patientId = ctx.session.me.caller.principal;
  let alive = true;
  const isAlive = () => alive;

  const live = h('div', { className: 'live', role: 'status', id: 'agenda-live' });
  const alert = h('div', { className: 'live', role: 'alert', id: 'agenda-alert' });
  const msgs = {
    say: (text) => live.replaceChildren(notice('info', text)),
    warn: (text) => alert.replaceChildren(notice('error', text)),
    fail: (err) => alert.replaceChildren(notice('error', describeError(err))),
    clearAlert: () => alert.replaceChildren(),
  };

  const store = createStore(ctx.conn, isAlive);
  const view = createView({ store, isAlive, fail: msgs.fail, onOpen: (ev, date, from) => panel.open(ev, date, from) });
  const panel = createPanel({ store, view, msgs });
  const stopLive = watchLive({ conn: ctx.conn, topic: `patient.${patientId}.agenda`, store, view, msgs });
  const exportBtn = h('button', { type: 'button', className: 'secondary', id: 'agenda-export', onclick: () => exportIcs() }, fr.agenda.exportIcs);

  async function exportIcs() {
    exportBtn.disabled = true;
    msgs.say(fr.agenda.exportBusy);
    try {
      const r = await store.call('ExportIcs', {});
      const blob = new Blob([r.ics], { type: 'text/calendar;charset=utf-8' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'agenda.ics', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      msgs.say(r.truncated ? `${fr.agenda.exportDone} ${fr.agenda.exportTruncated}` : fr.agenda.exportDone);
    } catch (err) {
      live.replaceChildren();
      msgs.fail(err);
    } finally {
      exportBtn.disabled = false;
    }
  }

  // start: catch up with every change (which gives lastVersion), then load the week
  view.showLoading();
  (async () => {
    try {
      await store.sync();
      if (!alive) return;
      view.redraw();
      await view.loadView();
    } catch (err) {
      if (!alive) return;
      view.redraw();
      msgs.fail(err);
    }
  })();

  return {
    title: fr.agenda.title,
    destroy() {
      alive = false;
      stopLive();
    },
    el: h('section', { className: 'screen agenda' },
      h('h1', { tabIndex: -1, id: 'agenda-title' }, fr.agenda.title),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', { className: 'agenda-intro' }, fr.agenda.intro),
      live, alert,
      h('div', { className: 'agenda-toolbar' },
        view.switcher,
        h('button', { type: 'button', className: 'primary', id: 'agenda-new', onclick: (e) => panel.open(null, view.defaultDate(), e.currentTarget) }, fr.agenda.newEvent)),
      panel.el,
      view.el,
      // below the days: on a phone the first screen shows them, not buttons
      h('div', { className: 'agenda-toolbar agenda-after' }, exportBtn)),
  };
}
