// The agenda screen's data. Events the screen has seen are kept in one map
// (hex id -> AgendaEvent, newest version wins), fed by List (the range
// shown, paged) and ListChanges; the views filter it by time. `lastVersion`
// is the patient's change version the map is up to date with (null until
// the first ListChanges).
import { hex } from '../../dom.js';
import { byStart, Change } from './event.js';

const T = { type: 'Agenda' }; // agenda messages are named Agenda<Method>Request/Reply
const PAGE = 500;
const MAX_PAGES = 20;

/** The store of one opened agenda screen; `isAlive()` turns false when the screen is left. */
export function createStore(conn, isAlive) {
  const known = new Map(); // hex id -> AgendaEvent
  let syncing = null;
  let syncAgain = false;

  const store = {
    lastVersion: null,

    /** Call agenda method `method` (AgendaXRequest -> AgendaXReply). */
    call(method, req) {
      return conn.call('agenda', method, req, T);
    },

    /** Keep `ev` unless we already hold a newer version of it. */
    keep(ev) {
      const id = hex(ev.id);
      const old = known.get(id);
      if (old && old.version > ev.version) return false;
      known.set(id, ev);
      return true;
    },

    /** Drop the event with id `id` (bytes). */
    forget(id) {
      known.delete(hex(id));
    },

    /** An AgendaChange (from ListChanges or a LiveEvent) into the map. */
    applyChange(ch) {
      if (!ch.event) return;
      if (ch.kind === Change.DELETED) known.delete(hex(ch.event.id));
      else store.keep(ch.event);
      if (ch.previous) store.keep(ch.previous);
    },

    /** Catch up with ListChanges from lastVersion (everything at first). */
    sync() {
      if (syncing) {
        syncAgain = true;
        return syncing;
      }
      syncing = (async () => {
        do {
          syncAgain = false;
          let since = store.lastVersion || 0;
          for (let page = 0; page < MAX_PAGES; page++) {
            const r = await store.call('ListChanges', { since_version: since, limit: PAGE });
            for (const ch of r.changes) store.applyChange(ch);
            since = Math.max(since, r.last_version);
            if (!r.more) break;
          }
          store.lastVersion = Math.max(store.lastVersion || 0, since);
        } while (syncAgain && isAlive());
      })().finally(() => { syncing = null; });
      return syncing;
    },

    /** Every event overlapping [from, to) into the map (List, paged). Returns false when cut short. */
    async loadRange(from, to, max = PAGE * MAX_PAGES) {
      let cursor = new Uint8Array(0);
      let n = 0;
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await store.call('List', { from_ms: from, to_ms: to, limit: PAGE, cursor });
        for (const ev of r.events) store.keep(ev);
        n += r.events.length;
        if (!r.next_cursor.length) return true;
        if (n >= max) return false;
        cursor = r.next_cursor;
      }
      return false;
    },

    /** The events overlapping [from, to), in display order. */
    eventsIn(from, to) {
      return [...known.values()].filter((ev) => ev.start_ms < to && ev.end_ms > from).sort(byStart);
    },
  };
  return store;
}
