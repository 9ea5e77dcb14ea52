// Live updates of the agenda screen. AgendaChange LiveEvents on
// "patient.<id>.agenda" go into the store and the open view at once (the
// view keeps the focus); a change made by someone other than the patient
// also says so. A version jump of more than one, a Resync, or the
// connection coming back online catch up with ListChanges from the last
// version. Reminders ("<topic>.reminder") are the app shell's (src/app.js).
import { fr } from '../../i18n/fr.js';
import { STATE } from '../../protocol.js';
import { Change, Principal } from './event.js';

/** Listen on `conn` for the patient's agenda changes; returns the function that stops listening. */
export function watchLive({ conn, topic, store, view, msgs }) {
  const offs = [];
  offs.push(conn.on('event', (ev) => {
    if (ev.topic !== topic) return; // reminders are shown by the app shell
    let ch;
    try {
      ch = conn.codec.decode('espace.v1.AgendaChange', ev.body);
    } catch (err) {
      console.warn('espace: undecodable agenda change', err.message);
      return;
    }
    const last = store.lastVersion;
    const gap = last !== null && ch.change_version > last + 1;
    store.applyChange(ch);
    if (last !== null && !gap) store.lastVersion = Math.max(last, ch.change_version);
    if (ch.event && ch.kind !== Change.DELETED && ch.event.updated_by_kind !== Principal.PATIENT) {
      msgs.say(fr.agenda.liveChanged(ch.event.title));
    }
    if (gap) store.sync().then(view.redraw, () => {});
    view.redraw();
  }));
  offs.push(conn.on('resync', () => { store.sync().then(view.redraw, msgs.fail); }));
  let wasOnline = conn.state === STATE.ONLINE;
  offs.push(conn.on('state', (s) => {
    if (s === STATE.ONLINE && !wasOnline && store.lastVersion !== null) store.sync().then(view.redraw, () => {});
    wasOnline = s === STATE.ONLINE;
  }));
  return () => {
    for (const off of offs) off();
  };
}
