// "Ajouter un document" on the Documents screen: the patient files one of
// their own documents (a DOCPAT type, REFERENCE.md §1) with a title; the
// file is checked here (accepted format, 1 byte..20 MiB), uploaded in
// pieces with a progress bar (src/dmp/transfer.js), and the filed version
// goes into the list at once (`onFiled`). French errors per field with a
// summary, as the other forms of the app.
import { h, labelled, nextId, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { showErrors } from '../../form-errors.js';
import { EspaceError, describeError } from '../../errors.js';
import { PATIENT_TYPES } from '../../dmp/codes.js';
import { DOC_MAX, mimeOf, uploadDocument } from '../../dmp/transfer.js';
import { progressBar } from '../../progress.js';

const T = fr.documents;
const TITLE_MAX = 200;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The French error of a title ('' when fine). */
export function titleError(title) {
  const t = title.trim();
  if (!t) return T.titleEmpty;
  if ([...t].length > TITLE_MAX || CONTROL.test(t)) return T.titleLong;
  return '';
}

/** The French error of a chosen file { name, type, size } ('' when fine). */
export function fileError(file) {
  if (!file) return T.fileEmpty;
  if (!mimeOf(file)) return T.fileFormat;
  if (file.size === 0) return T.fileZero;
  if (file.size > DOC_MAX) return T.fileTooLarge;
  return '';
}

export function createUpload({ conn, onFiled }) {
  const type = labelled(T.uploadType, h('select', { id: nextId('up-type'), name: 'type_code', required: true },
    h('option', { value: '' }, T.uploadTypeChoose),
    PATIENT_TYPES.map((d) => h('option', { value: d.code }, d.label))));
  const title = labelled(T.uploadTitleField, h('input', { id: nextId('up-title'), name: 'title', type: 'text', required: true, maxLength: TITLE_MAX }), T.uploadTitleHint);
  const file = labelled(T.uploadFile, h('input', { id: nextId('up-file'), name: 'file', type: 'file', required: true, accept: '.pdf,.jpg,.jpeg,.png,.txt,.xml,application/pdf,image/jpeg,image/png,text/plain,text/xml' }), T.uploadFileHint);
  const summary = h('div', { className: 'form-error', role: 'alert', tabIndex: -1 });
  const progress = h('div', { id: 'doc-upload-progress' });
  const result = h('div', { id: 'doc-upload-result' });
  const send = h('button', { type: 'submit', className: 'primary', id: 'doc-upload-send' }, T.uploadSend);

  function check() {
    const errors = [];
    const err = (f, text) => { f.setError(text); if (text) errors.push([f.input.id, text]); };
    err(type, type.input.value ? '' : T.typeEmpty);
    err(title, titleError(title.input.value));
    const f = file.input.files[0];
    err(file, fileError(f));
    if (showErrors(summary, errors)) return null;
    return { file: f, document: { type_code: type.input.value, title: title.input.value.trim(), mime_type: mimeOf(f) } };
  }

  async function submit() {
    result.replaceChildren();
    const input = check();
    if (!input) return;
    send.disabled = true;
    const bar = progressBar(T.uploadLabel(input.file.name), T.uploadProgress);
    progress.replaceChildren(bar.wrap);
    try {
      const bytes = new Uint8Array(await input.file.arrayBuffer());
      const doc = await uploadDocument(conn, { bytes, document: input.document, onProgress: (d, t) => bar.set(d, t) });
      form.reset();
      progress.replaceChildren();
      result.replaceChildren(notice('ok', T.uploaded(doc.title)));
      onFiled(doc);
    } catch (err) {
      progress.replaceChildren();
      const label = err instanceof EspaceError && T.fields[err.field];
      summary.replaceChildren(notice('error', label ? fr.errors.field(label, describeError(err)) : describeError(err)));
      summary.focus();
    } finally {
      send.disabled = false;
    }
  }

  const form = h('form', { id: 'doc-upload', noValidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
    summary, type.wrap, title.wrap, file.wrap, progress,
    h('div', { className: 'actions' }, send), result);

  return {
    el: h('section', { className: 'card', 'aria-labelledby': 'doc-upload-title' },
      h('h2', { id: 'doc-upload-title' }, T.uploadTitle), form),
  };
}
