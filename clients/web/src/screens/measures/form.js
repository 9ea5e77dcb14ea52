// "Ajouter une mesure" on the Mesures screen: the kind (every one but the
// BMI, which is computed), the value with its unit shown (blood pressure as
// two values, glucose with its concept, moment and, for interstitial
// glucose and IGG, the days covered), the date and time (Europe/Paris).
// Checked here first with French messages (src/dmp/check.js: hard range
// refused, soft range accepted with a warning), then AddMeasure; the reply
// (and the BMI derived with it) goes to `onSaved`.
import { h, labelled, nextId, notice } from '../../dom.js';
import { fr } from '../../i18n/fr.js';
import { showErrors } from '../../form-errors.js';
import { EspaceError, describeError } from '../../errors.js';
import { enumValue } from '../../enums.js';
import { dateValue, parisDate, parisToUtc, parseDateValue, parseTimeValue, timeValue } from '../../agenda-time.js';
import { ENTERED, GLUCOSE_DAYS, GLUCOSE_MOMENTS, GLUCOSE_TYPES, glucoseType, measure } from '../../dmp/measures.js';
import { checkMeasure } from '../../dmp/check.js';
import { glucoseValue, kindLabel, kindValue, momentValue, valueText } from '../../dmp/series.js';

const T = fr.measures;
const FUTURE_SLACK_MS = 5 * 60 * 1000; // dmp.proto: not after now + 5 min
const SOURCE_PATIENT = enumValue('espace.v1.MeasureSource', 'MEASURE_SOURCE_PATIENT');

/** A number input with its unit after it and "Unité : <unit>" as its hint. */
function numberField(name, label, unit) {
  const input = h('input', { id: nextId(`m-${name}`), name, type: 'text', inputMode: 'decimal', autocomplete: 'off' });
  const f = labelled(label, input, T.unitIs(unit));
  const suffix = h('span', { className: 'unit', 'aria-hidden': 'true' }, unit);
  input.after(suffix);
  return { ...f, suffix, setUnit(u) { suffix.textContent = u; f.wrap.querySelector('.hint').textContent = T.unitIs(u); } };
}

export function createForm({ conn, onSaved }) {
  const kind = labelled(T.kind, h('select', { id: nextId('m-kind'), name: 'kind' },
    ENTERED.map((m) => h('option', { value: m.key }, m.label))));
  const slot = h('div', { id: 'measure-fields' });
  const now = Date.now();
  const date = labelled(T.date, h('input', { id: nextId('m-date'), name: 'date', type: 'date', value: dateValue(parisDate(now)) }));
  const time = labelled(T.time, h('input', { id: nextId('m-time'), name: 'time', type: 'time', value: timeValue(now) }));
  const summary = h('div', { className: 'form-error', role: 'alert', tabIndex: -1 });
  const result = h('div', { id: 'measure-result', role: 'status' });
  const save = h('button', { type: 'submit', className: 'primary', id: 'measure-save' }, T.save);
  let fields = {}; // name -> labelled field of the current kind

  function showFields() {
    const m = measure(kind.input.value);
    fields = {};
    if (m.components) {
      for (const c of m.components) fields[c.key] = numberField(c.key, c.label, c.unit);
    } else if (m.glucose) {
      fields.type = labelled(T.glucoseType, h('select', { id: nextId('m-gtype'), name: 'type' },
        GLUCOSE_TYPES.map((g) => h('option', { value: g.name }, g.label))));
      fields.value = numberField('value', T.value, glucoseType('BLOOD').unit);
      fields.moment = labelled(T.moment, h('select', { id: nextId('m-moment'), name: 'moment' },
        h('option', { value: '' }, T.choose), GLUCOSE_MOMENTS.map((mo) => h('option', { value: mo.name }, mo.label))));
      fields.days = numberField('days', T.days, GLUCOSE_DAYS.unit);
      const sync = () => {
        const g = glucoseType(fields.type.input.value);
        fields.value.setUnit(g.unit);
        fields.days.wrap.hidden = !g.days;
      };
      fields.type.input.addEventListener('change', sync);
      sync();
    } else {
      fields.value = numberField('value', T.value, m.unit);
    }
    slot.replaceChildren(...Object.values(fields).map((f) => f.wrap));
  }
  kind.input.addEventListener('change', () => { summary.replaceChildren(); result.replaceChildren(); showFields(); });
  showFields();

  function check() {
    const key = kind.input.value;
    const typed = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.input.value]));
    const r = checkMeasure(key, typed);
    const errors = [];
    for (const [k, f] of Object.entries(fields)) {
      const text = r.errors[k] || '';
      f.setError(text);
      if (text) errors.push([f.input.id, text]);
    }
    const d = parseDateValue(date.input.value);
    const t = parseTimeValue(time.input.value);
    const when = d && t ? parisToUtc(d.y, d.m, d.d, t.hh, t.mm) : null;
    const whenErrors = [
      [date, !d ? T.dateEmpty : when !== null && when > Date.now() + FUTURE_SLACK_MS ? T.future : ''],
      [time, t ? '' : T.timeEmpty],
    ];
    for (const [f, text] of whenErrors) {
      f.setError(text);
      if (text) errors.push([f.input.id, text]);
    }
    if (showErrors(summary, errors)) return null;
    const req = { kind: kindValue(key), effective_ms: when, source: SOURCE_PATIENT, measure_id: crypto.getRandomValues(new Uint8Array(16)) };
    const m = measure(key);
    if (m.components) {
      req.systolic = r.values.systolic;
      req.diastolic = r.values.diastolic;
    } else {
      req.value = r.values.value;
    }
    if (m.glucose) {
      const g = glucoseType(typed.type);
      req.glucose_type = glucoseValue(g.name);
      req.moment = momentValue(typed.moment);
      if (g.days) req.number_of_days = r.values.days;
    }
    return { req, warnings: r.warnings };
  }

  async function submit() {
    result.replaceChildren();
    const input = check();
    if (!input) return;
    save.disabled = true;
    try {
      const reply = await conn.call('dmp', 'AddMeasure', input.req);
      const ms = reply.measure;
      const lines = [notice('ok', T.saved(kindLabel(ms), valueText(ms)))];
      if (ms.warning || input.warnings.length) lines.push(notice('info', [T.savedWarning, ...input.warnings].join(' ')));
      if (reply.bmi) lines.push(notice('info', T.bmiComputed(valueText(reply.bmi))));
      result.replaceChildren(...lines);
      for (const f of Object.values(fields)) if (f.input.tagName === 'INPUT') f.input.value = '';
      onSaved(reply);
    } catch (err) {
      const label = err instanceof EspaceError && T.fields[err.field];
      summary.replaceChildren(notice('error', label ? fr.errors.field(label, describeError(err)) : describeError(err)));
      summary.focus();
    } finally {
      save.disabled = false;
    }
  }

  const form = h('form', { id: 'measure-form', noValidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
    summary, kind.wrap, slot, h('div', { className: 'field-row' }, date.wrap, time.wrap),
    h('p', { className: 'aside' }, T.bmiNote),
    h('div', { className: 'actions' }, save), result);

  return {
    el: h('section', { className: 'card', 'aria-labelledby': 'measure-form-title' },
      h('h2', { id: 'measure-form-title' }, T.addTitle), form),
  };
}
