// The documents of the "Documents" screen: the filters (category, type,
// creation dates, old versions), the versions the service answered
// (SearchDocuments, paged) grouped under the tender's headings, and each
// document's actions: download with the hash checked, hide from
// professionals (MASQUE_PS) and show again. Live DmpEvents come in through
// `apply` (src/screens/documents/index.js).
import { h, hex, labelled, nextId, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { describeError } from '../../errors.js';
import { enumConstants, enumValue, enumName } from '../../enums.js';
import { addDays, dayStart, parseDateValue } from '../../agenda-time.js';
import { GROUPS, docType, groupOf, typesOf } from '../../dmp/codes.js';
import { downloadDocument, CorruptError, MIME_BY_EXT } from '../../dmp/transfer.js';
import { progressBar } from '../../progress.js';

const T = fr.documents;
const PAGE = 50;
const Availability = enumConstants('espace.v1.Availability', 'AVAILABILITY_');
const Principal = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');
const categoryValue = (key) => enumValue('espace.v1.DocCategory', `DOC_CATEGORY_${key}`);
const categoryKey = (n) => (enumName('espace.v1.DocCategory', n) || '').replace(/^DOC_CATEGORY_/, '');
/** The group a version shows under: its category, else its type's, else OTHER (never lost). */
const groupKeyOf = (doc) => {
  const k = categoryKey(doc.category);
  return (k && k !== 'UNSPECIFIED' ? k : groupOf(doc.type_code)) || 'OTHER';
};

/** Who filed a version, in French; a professional by name as `people` (src/people.js) knows them. */
export function authorText(a, people) {
  if (!a || a.kind === Principal.PATIENT) return T.byYou;
  if (a.kind === Principal.PROFESSIONAL) return T.byPro(people.pro(a.principal).object);
  return T.byApp(a.principal);
}

/** The label of a version's type: the J07 display, else the code as sent. */
export const typeLabel = (doc) => (docType(doc.type_code) || { label: doc.type_code }).label;

/** Whether `doc` passes the filters `f` ({ category, type, from, to, old }). */
export function matches(doc, f) {
  if (f.category && groupKeyOf(doc) !== f.category) return false;
  if (f.type && doc.type_code !== f.type) return false;
  if (f.from && doc.creation_ms < f.from) return false;
  if (f.to && doc.creation_ms >= f.to) return false;
  if (!f.old && doc.availability === Availability.SUPERSEDED) return false;
  return true;
}

/** The document list of one opened screen; `msgs` shows notices (say, fail); `people` names the authors. */
export function createList({ conn, isAlive, msgs, people }) {
  const known = new Map(); // hex id -> DocumentMeta, in the order answered
  let filters = { category: '', type: '', from: 0, to: 0, old: false };
  let cursor = new Uint8Array(0);
  let loading = false;

  const el = h('div', { id: 'doc-list' });
  const countEl = h('p', { id: 'doc-count', className: 'aside', role: 'status' });

  // ---- filters ----
  const catSel = h('select', { id: nextId('doc-cat'), name: 'category' },
    h('option', { value: '' }, T.allCategories),
    GROUPS.map((g) => h('option', { value: g.key }, g.label)));
  const typeSel = h('select', { id: nextId('doc-type'), name: 'type' });
  const fillTypes = () => {
    const keep = typeSel.value;
    typeSel.replaceChildren(h('option', { value: '' }, T.allTypes),
      ...typesOf(catSel.value).map((d) => h('option', { value: d.code, selected: d.code === keep }, d.label)));
  };
  catSel.addEventListener('change', fillTypes);
  fillTypes();
  const cat = labelled(T.category, catSel);
  const type = labelled(T.type, typeSel);
  const from = labelled(T.from, h('input', { id: nextId('doc-from'), name: 'from', type: 'date' }), T.dateHint);
  const to = labelled(T.to, h('input', { id: nextId('doc-to'), name: 'to', type: 'date' }), T.dateHint);
  const old = h('input', { id: nextId('doc-old'), name: 'old', type: 'checkbox' });
  const filterForm = h('form', {
    id: 'doc-filters', className: 'card filters', 'aria-labelledby': 'doc-filters-title', noValidate: true,
    onsubmit: (e) => { e.preventDefault(); applyFilters(); },
  },
  h('h2', { id: 'doc-filters-title' }, T.filtersTitle),
  h('div', { className: 'field-row' }, cat.wrap, type.wrap),
  h('div', { className: 'field-row' }, from.wrap, to.wrap),
  h('div', { className: 'check field' }, old, h('label', { for: old.id }, T.showOld)),
  h('div', { className: 'actions' },
    h('button', { type: 'submit', className: 'primary', id: 'doc-apply' }, T.apply),
    h('button', { type: 'button', className: 'secondary', onclick: () => { filterForm.reset(); fillTypes(); applyFilters(); } }, T.reset)));

  function applyFilters() {
    const f = parseDateValue(from.input.value);
    const t = parseDateValue(to.input.value);
    const fromMs = f ? dayStart(f) : 0;
    const toMs = t ? dayStart(addDays(t, 1)) : 0;
    if (fromMs && toMs && toMs <= fromMs) {
      to.setError(T.dateOrder);
      to.input.focus();
      return;
    }
    to.setError('');
    filters = { category: catSel.value, type: typeSel.value, from: fromMs, to: toMs, old: old.checked };
    reload();
  }

  // ---- data ----
  function request() {
    return {
      category: filters.category ? categoryValue(filters.category) : 0,
      type_code: filters.type,
      created: { start_ms: filters.from, end_ms: filters.to },
      availability: filters.old ? Availability.UNSPECIFIED : Availability.CURRENT,
      limit: PAGE,
      cursor,
    };
  }

  async function loadPage() {
    if (loading) return;
    loading = true;
    try {
      const r = await conn.call('dmp', 'SearchDocuments', request());
      if (!isAlive()) return;
      for (const d of r.documents) known.set(hex(d.id), d);
      cursor = r.next_cursor;
      redraw();
    } catch (err) {
      if (!isAlive()) return;
      msgs.fail(err);
      if (!known.size) el.replaceChildren(); // no "Chargement…" left behind
    } finally {
      loading = false;
    }
  }

  function reload() {
    known.clear();
    cursor = new Uint8Array(0);
    el.replaceChildren(h('p', { className: 'loading' }, fr.app.loading));
    return loadPage();
  }

  // ---- view ----
  function item(doc) {
    const id = hex(doc.id);
    const status = h('div', { className: 'doc-status', role: 'status' });
    const superseded = doc.availability === Availability.SUPERSEDED;
    const dl = h('button', {
      type: 'button', className: 'secondary doc-download', 'aria-label': T.downloadLabel(doc.title),
      onclick: () => download(doc, dl, status),
    }, T.download);
    const mask = h('button', {
      type: 'button', className: 'secondary doc-mask',
      'aria-label': doc.masked_ps ? T.unmaskLabel(doc.title) : T.maskLabel(doc.title),
      onclick: () => setMasked(doc, !doc.masked_ps, mask),
    }, doc.masked_ps ? T.unmask : T.mask);
    const format = T.formats[doc.mime_type] || doc.mime_type;
    return h('li', { className: `doc${superseded ? ' superseded' : ''}${doc.masked_ps ? ' masked' : ''}`, 'data-id': id },
      h('span', { className: 'item-title' }, doc.title),
      doc.masked_ps ? h('span', { className: 'tag masked' }, T.masked) : null,
      superseded ? h('span', { className: 'tag' }, T.superseded) : null,
      h('span', { className: 'item-meta' }, typeLabel(doc)),
      h('span', { className: 'item-meta' }, [
        T.created(fr.time.date(new Date(doc.creation_ms))),
        authorText(doc.author, people),
        doc.version > 1 ? T.version(doc.version) : null,
        `${format}, ${T.size(Number(doc.size))}`,
      ].filter(Boolean).join(' · ')),
      h('div', { className: 'actions' }, dl, mask),
      status);
  }

  function redraw() {
    if (!isAlive()) return;
    const docs = [...known.values()].filter((d) => matches(d, filters));
    const filtered = Boolean(filters.category || filters.type || filters.from || filters.to);
    countEl.textContent = T.count(docs.length);
    const groups = GROUPS.map((g) => ({ g, docs: docs.filter((d) => groupKeyOf(d) === g.key) }))
      .filter((x) => x.docs.length);
    // keep the focus on the same button of the same document across the redraw
    const active = document.activeElement;
    const li = active && el.contains(active) ? active.closest('li[data-id]') : null;
    const focusSel = li ? `li[data-id="${li.dataset.id}"] .${active.classList.contains('doc-mask') ? 'doc-mask' : 'doc-download'}` : null;
    el.replaceChildren(...[
      docs.length === 0 ? h('p', { id: 'doc-empty' }, filtered ? T.emptyFiltered : T.empty) : null,
      ...groups.map(({ g, docs: list }) => h('section', { className: 'doc-group', 'data-category': g.key, 'aria-labelledby': `doc-group-${g.key}` },
        h('h3', { id: `doc-group-${g.key}` }, g.label),
        h('ul', { className: 'items docs' }, list.map(item)))),
      cursor.length ? h('button', { type: 'button', className: 'secondary', id: 'doc-more', onclick: () => loadPage() }, T.more) : null,
    ].filter(Boolean));
    if (focusSel) el.querySelector(focusSel)?.focus();
  }

  async function download(doc, btn, status) {
    btn.disabled = true;
    const bar = progressBar(doc.title, T.downloadProgress);
    status.replaceChildren(bar.wrap);
    try {
      const bytes = await downloadDocument(conn, doc, { onProgress: (d, t) => bar.set(d, t) });
      const url = URL.createObjectURL(new Blob([bytes], { type: doc.mime_type || 'application/octet-stream' }));
      const a = h('a', { href: url, download: fileName(doc), hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.replaceChildren(notice('ok', T.downloaded(doc.title)));
    } catch (err) {
      status.replaceChildren(notice('error', err instanceof CorruptError ? T.corrupt : describeError(err)));
    } finally {
      btn.disabled = false;
    }
  }

  async function setMasked(doc, masked, btn) {
    btn.disabled = true;
    try {
      const r = await conn.call('dmp', 'SetMasked', { document_id: doc.id, masked });
      // every version of the document changes with it
      for (const [k, d] of known) if (hex(d.unique_id) === hex(doc.unique_id)) known.set(k, { ...d, masked_ps: r.document.masked_ps });
      known.set(hex(r.document.id), r.document);
      redraw();
      msgs.say(masked ? T.maskedDone(doc.title) : T.unmaskedDone(doc.title));
    } catch (err) {
      btn.disabled = false;
      msgs.fail(err);
    }
  }

  return {
    filterForm,
    countEl,
    el,
    reload,
    redraw,
    /** Draw again once `people` learned names (a page in flight draws with them anyway). */
    relabel() { if (!loading) redraw(); },

    /**
     * A version from a live event or an upload: kept, and an older version
     * it replaced marked superseded. Returns true when it was not known.
     */
    apply(doc) {
      const id = hex(doc.id);
      const isNew = !known.has(id);
      if (isNew) {
        // newest first: put it before the ones already shown
        const rest = [...known.entries()];
        known.clear();
        known.set(id, doc);
        for (const [k, d] of rest) known.set(k, d);
      } else {
        known.set(id, doc);
      }
      if (doc.replaces && doc.replaces.length) {
        const oldId = hex(doc.replaces);
        const prev = known.get(oldId);
        if (prev) known.set(oldId, { ...prev, availability: Availability.SUPERSEDED, replaced_by: doc.id });
      }
      redraw();
      return isNew;
    },
  };
}

/** A file name for a download: the title without characters file systems refuse, and the format's extension. */
export function fileName(doc) {
  const ext = (Object.entries(MIME_BY_EXT).find(([, m]) => m === doc.mime_type) || ['bin'])[0];
  const base = String(doc.title || 'document').replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').slice(0, 100).trim() || 'document';
  return base.toLowerCase().endsWith(`.${ext}`) ? base : `${base}.${ext}`;
}
