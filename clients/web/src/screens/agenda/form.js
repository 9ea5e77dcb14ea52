// The agenda screen's panel above the views: the form that creates or edits
// the patient's own events (French errors per field with a summary), the
// read-only details of events written by someone else or in a final state,
// and the inline cancel confirmation. Update and Cancel send the version
// read; a conflict (CODE_ABORTED) reads the event again (Get) and shows the
// current version in the panel with a French explanation.
import { h, hex, labelled, notice, nextId } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { Code, EspaceError, describeError } from '../../errors.js';
import {
  parisDate, dayStart, parisToUtc, dateValue, parseDateValue, timeValue, parseTimeValue,
  formatFullDate,
} from '../../agenda-time.js';
import {
  DEFAULT_KIND, isOwn, isFinal, whenText, kindChoices, kindLabel, statusLabel, sourceLabel, participantLabel,
} from './event.js';

/**
 * The panel of one opened agenda screen. `msgs` shows the screen's notices
 * (say, warn, fail, clearAlert); `view` is the screen's view (src/screens/agenda/view.js).
 */
export function createPanel({ store, view, msgs }) {
  const el = h('div', { id: 'agenda-panel-slot' });
  let returnFocus = null;

  function closePanel() {
    el.replaceChildren();
    const back = returnFocus && returnFocus.isConnected ? returnFocus
      : (returnFocus && returnFocus.dataset.eventId && view.eventButton(returnFocus.dataset.eventId));
    (back || document.getElementById('agenda-title'))?.focus();
    returnFocus = null;
  }

  /** Open `ev` (null: a new event on `date`); focus goes back to `from` when closed. */
  function openPanel(ev, date, from, message) {
    if (from) returnFocus = from;
    msgs.clearAlert();
    const panel = ev && (!isOwn(ev) || isFinal(ev)) ? detailsPanel(ev, message) : formPanel(ev, date, message);
    el.replaceChildren(panel);
    panel.querySelector('h2')?.focus();
  }

  function detailsPanel(ev, message) {
    const rows = [
      [fr.agenda.kindLabel, kindLabel(ev)],
      [fr.agenda.date, formatFullDate(parisDate(ev.start_ms))],
      [fr.agenda.hours, whenText(ev)],
      [fr.agenda.statusLabel, statusLabel(ev)],
      ev.location ? [fr.agenda.where, ev.location] : null,
      ev.description ? [fr.agenda.description, ev.description] : null,
      ev.participants.length ? [fr.agenda.participants,
        ev.participants.map(participantLabel).join(', ')] : null,
      ev.reminder_minutes.length ? [fr.agenda.reminders, reminderLabels(ev.reminder_minutes)] : null,
    ].filter(Boolean);
    const cancelSlot = h('div', {});
    return h('section', { className: 'card agenda-panel', 'aria-labelledby': 'panel-title', id: 'agenda-panel' },
      h('h2', { id: 'panel-title', tabIndex: -1 }, ev.title),
      message ? notice('error', message) : null,
      h('p', { className: 'aside' }, isFinal(ev) ? fr.agenda.finalState : (sourceLabel(ev) || fr.agenda.readOnly)),
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

  function formPanel(ev, date, message) {
    const edit = Boolean(ev);
    const start = ev ? ev.start_ms : null;
    const day = ev ? parisDate(ev.start_ms) : (date || parisDate(Date.now()));
    const kind = labelled(fr.agenda.kind, h('select', { id: nextId('ag-kind'), name: 'kind' },
      kindChoices().map((k) => h('option', { value: String(k.value), selected: ev ? ev.kind === k.value : k.value === DEFAULT_KIND }, k.label))));
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
          saved = (await store.call('Update', { event: { ...ev, ...content, version: ev.version } })).event;
        } else {
          saved = (await store.call('Create', { event: content })).event;
        }
        store.keep(saved);
        view.showWeekOf(saved.start_ms);
        closePanel();
        msgs.say(edit ? fr.agenda.updated(saved.title) : fr.agenda.created(saved.title));
        view.redraw();
        const btn = view.eventButton(hex(saved.id));
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
      const fresh = (await store.call('Get', { event_id: ev.id })).event;
      store.keep(fresh);
      view.redraw();
      openPanel(fresh, null, null, message);
    } catch (err) {
      if (err instanceof EspaceError && err.code === Code.NOT_FOUND) {
        store.forget(ev.id);
        closePanel();
        msgs.warn(fr.agenda.gone);
        view.redraw();
      } else {
        msgs.fail(err);
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
        const r = await store.call('Cancel', {
          event_id: ev.id, reason: reason.value.trim(), expected_version: ev.version,
        });
        store.keep(r.event);
        closePanel();
        msgs.say(fr.agenda.cancelled(r.event.title));
        view.redraw();
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

  return { el, open: openPanel };
}
