// Screen "Documents": the patient's shared medical record (dmp service,
// docs/dmp.md): the documents grouped under the tender's headings, filters
// by category, type and creation date, download with the hash checked,
// hide from professionals (MASQUE_PS) and show again, and the patient's own
// documents uploaded with a progress bar. A document filed elsewhere (a
// professional's report) appears without reload: DmpEvents on
// "patient.<id>.dmp" (src/dmp/live.js).
//
//   list.js    filters, the grouped list, download and masking
//   upload.js  "Ajouter un document"
//
// A professional author appears by name, profession and RPPS (src/people.js,
// the directory of "Mes autorisations"); one unknown when their document
// arrives live makes the directory reload.
import { h, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { describeError } from '../../errors.js';
import { enumConstants } from '../../enums.js';
import { watchDmp, EventKind } from '../../dmp/live.js';
import { createList } from './list.js';
import { createUpload } from './upload.js';
import { People, loadPeople } from '../../people.js';

const T = fr.documents;
const Principal = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');

export function render(ctx) {
  const patientId = ctx.session.me.caller.principal;
  let alive = true;
  const isAlive = () => alive;

  const live = h('div', { className: 'live', role: 'status', id: 'doc-live' });
  const alert = h('div', { className: 'live', role: 'alert', id: 'doc-alert' });
  const msgs = {
    say: (text) => { alert.replaceChildren(); live.replaceChildren(notice('info', text)); },
    fail: (err) => alert.replaceChildren(notice('error', describeError(err))),
  };

  const people = new People();
  const learnNames = () => loadPeople(ctx.conn, people).then(() => { if (alive) list.relabel(); },
    (err) => console.warn('espace: professional names unavailable', err.message)); // RPPS shown instead
  const list = createList({ conn: ctx.conn, isAlive, msgs, people });
  const upload = createUpload({ conn: ctx.conn, onFiled: (doc) => list.apply(doc) });
  const stopLive = watchDmp({
    conn: ctx.conn,
    patientId,
    onEvent: (e) => {
      if (!e.document || e.kind === EventKind.MEASURE_ADDED) return;
      const isNew = list.apply(e.document);
      const a = e.document.author;
      if (a && a.kind === Principal.PROFESSIONAL && !people.knows(a.principal)) learnNames();
      if (isNew && e.kind !== EventKind.DOCUMENT_CHANGED) msgs.say(T.liveNew(e.document.title));
    },
    onGap: () => { list.reload(); },
  });

  list.reload();
  learnNames();

  return {
    title: T.title,
    destroy() {
      alive = false;
      stopLive();
    },
    el: h('section', { className: 'screen documents' },
      h('h1', { tabIndex: -1, id: 'documents-title' }, T.title),
      ctx.flash ? notice('info', ctx.flash) : null,
      h('p', {}, T.intro),
      h('p', { className: 'aside' }, T.maskHint),
      live, alert,
      list.filterForm,
      h('section', { className: 'card', 'aria-labelledby': 'doc-list-title' },
        h('h2', { id: 'doc-list-title' }, T.listTitle),
        list.countEl,
        list.el),
      upload.el),
  };
}
