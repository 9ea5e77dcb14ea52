// What the "Mesures" form checks before it sends (the service checks the
// same again and has the last word): French decimal input, the hard range
// (refused, with the range in the message), the soft range (accepted, with a
// warning), whole numbers where the reference wants them, the two blood
// pressure components (systolic above diastolic), the glucose moment; and
// the BMI computed from a weight and a height. Messages come from
// src/i18n/fr-dmp.js; the numbers from src/dmp/measures.js.
import { dmp } from '../i18n/fr-dmp.js';
import { GLUCOSE_DAYS, GLUCOSE_UNITS, glucoseMoment, glucoseType, measure } from './measures.js';

const T = dmp.check;

const DECIMAL = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/;

/** A number typed by a patient ("72,5", " 72.5 "), or NaN ('' too). */
export function parseDecimal(text) {
  const s = String(text ?? '').trim().replace(/\s/g, '');
  if (!DECIMAL.test(s)) return NaN;
  return Number(s.replace(',', '.'));
}

const nf = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 2 });
/** A number in French ("72,5", "60 000"). */
export const formatNumber = (v) => nf.format(v).replace(/\u202f/g, '\u00a0');

/** True when v is inside range rg (null bounds are open). */
export function inside(rg, v) {
  if (!rg) return true;
  if (rg.min !== null && (rg.minOpen ? v <= rg.min : v < rg.min)) return false;
  if (rg.max !== null && v > rg.max) return false;
  return true;
}

/** "entre 20 et 272 cm", "supérieur à 0 kg et au plus 650 kg", "au plus 60 000 pas/jour". */
export function rangeText(rg, unit) {
  const n = (v) => `${formatNumber(v)}${unit ? `\u00a0${unit}` : ''}`;
  if (rg.min === null) return T.atMost(n(rg.max));
  if (rg.minOpen) return T.aboveAtMost(n(rg.min), n(rg.max));
  return T.between(n(rg.min), n(rg.max));
}

/**
 * Check one value typed for a measure with `label`, `unit`, `hard`, `soft`
 * and `integer` (a kind, a blood-pressure component or a glucose unit).
 * Returns { value } when fine, { value, warning } when outside the soft
 * range, { error } when refused.
 */
export function checkValue(spec, label, text) {
  if (String(text ?? '').trim() === '') return { error: T.valueEmpty(label) };
  const v = parseDecimal(text);
  if (!Number.isFinite(v)) return { error: T.notNumber(label) };
  if (spec.integer && !Number.isInteger(v)) return { error: T.notInteger(label) };
  if (!inside(spec.hard, v)) return { error: T.outOfRange(label, rangeText(spec.hard, spec.unit)) };
  if (spec.soft && !inside(spec.soft, v)) return { value: v, warning: T.unusual(label, rangeText(spec.soft, spec.unit)) };
  return { value: v };
}

/**
 * Check the form's input for kind `key`: `fields` holds the typed text
 * (value; systolic and diastolic; for glucose also type (a GlucoseType
 * name, BLOOD when absent), moment (a GlucoseMoment name) and days).
 * Returns { ok, values, errors: { field: text }, warnings: [text] } where
 * values are numbers (value, or systolic and diastolic; days).
 */
export function checkMeasure(key, fields) {
  const m = measure(key);
  const out = { ok: false, values: {}, errors: {}, warnings: [] };
  if (!m) {
    out.errors.kind = T.kindUnknown;
    return out;
  }
  if (m.computed) {
    out.errors.kind = T.bmiComputed;
    return out;
  }
  const take = (name, spec, label) => {
    const r = checkValue(spec, label, fields[name]);
    if (r.error) out.errors[name] = r.error;
    else out.values[name] = r.value;
    if (r.warning) out.warnings.push(r.warning);
  };
  if (m.components) {
    for (const c of m.components) take(c.key, c, T.bpLabel[c.key]);
    const { systolic, diastolic } = out.values;
    if (systolic !== undefined && diastolic !== undefined && !(systolic > diastolic)) {
      out.errors.diastolic = T.bpOrder;
    }
  } else if (m.glucose) {
    const g = glucoseType(fields.type || 'BLOOD');
    if (!g) out.errors.type = T.glucoseType;
    else {
      take('value', GLUCOSE_UNITS[g.unit], g.label);
      if (g.days) take('days', GLUCOSE_DAYS, T.daysLabel);
    }
    if (!glucoseMoment(fields.moment)) out.errors.moment = T.glucoseMoment;
  } else {
    take('value', m, m.label);
  }
  out.ok = Object.keys(out.errors).length === 0;
  return out;
}

/**
 * The BMI of a weight in kg and a height in cm, rounded to one decimal;
 * null when either is missing or the result is outside the BMI's sanity
 * range (REFERENCE.md §2: 8-80).
 */
export function computeBmi(weightKg, heightCm) {
  if (!(weightKg > 0) || !(heightCm > 0)) return null;
  const m = heightCm / 100;
  const bmi = Math.round((weightKg / (m * m)) * 10) / 10;
  return inside(measure('bmi').hard, bmi) ? bmi : null;
}
