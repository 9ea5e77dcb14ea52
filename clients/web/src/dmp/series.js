// The measures as the "Mesures" screen shows them, without the DOM: the
// charts to draw (one per kind; glucose one per concept, as their units
// differ), the value of a measure in French with its unit, and a
// ListMeasuresReply turned into the columns of a uPlot chart and the rows
// of its table of values. Enum numbers come from the schema (src/enums.js).
import { enumConstants, enumValue, enumName } from '../enums.js';
import { MEASURES, GLUCOSE_TYPES, measure, glucoseType, glucoseMoment } from './measures.js';
import { formatNumber } from './check.js';

export const Mode = enumConstants('espace.v1.SeriesMode', 'SERIES_MODE_');

/** The espace.v1.MeasureKind number of kind key `key` ('heart_rate'). */
export const kindValue = (key) => enumValue('espace.v1.MeasureKind', `MEASURE_KIND_${key.toUpperCase()}`);

/** The kind key of a MeasureKind number ('' when unknown). */
export function kindKey(n) {
  const name = enumName('espace.v1.MeasureKind', n);
  return name ? name.slice('MEASURE_KIND_'.length).toLowerCase() : '';
}

/** The espace.v1.GlucoseType number of a concept name ('BLOOD'). */
export const glucoseValue = (name) => enumValue('espace.v1.GlucoseType', `GLUCOSE_TYPE_${name}`);
/** The concept name of a GlucoseType number ('' when unknown or unspecified). */
export function glucoseName(n) {
  const name = enumName('espace.v1.GlucoseType', n);
  return name && name !== 'GLUCOSE_TYPE_UNSPECIFIED' ? name.slice('GLUCOSE_TYPE_'.length) : '';
}
/** The espace.v1.GlucoseMoment number of a moment name ('FASTING'). */
export const momentValue = (name) => enumValue('espace.v1.GlucoseMoment', `GLUCOSE_MOMENT_${name}`);
/** The moment name of a GlucoseMoment number ('' when unknown). */
export function momentName(n) {
  const name = enumName('espace.v1.GlucoseMoment', n);
  return name ? name.slice('GLUCOSE_MOMENT_'.length) : '';
}

/**
 * The charts of the screen, in order: { id, key, glucose (concept name or
 * null), label, unit }. Glucose has a chart per concept in `glucoseNames`
 * (the concepts the record holds), the blood glucose one at least.
 */
export function chartSpecs(glucoseNames = []) {
  const out = [];
  for (const m of MEASURES) {
    if (!m.glucose) {
      out.push({ id: m.key, key: m.key, glucose: null, label: m.label, unit: m.unit });
      continue;
    }
    const names = new Set(['BLOOD', ...glucoseNames]);
    for (const g of GLUCOSE_TYPES) {
      if (names.has(g.name)) out.push({ id: `glucose-${g.name.toLowerCase()}`, key: m.key, glucose: g.name, label: `${m.label} · ${g.label}`, unit: g.unit });
    }
  }
  return out;
}

/** The chart id of a Measure ('weight', 'glucose-blood'). */
export function chartIdOf(ms) {
  const key = kindKey(ms.kind);
  if (key !== 'glucose') return key;
  return `glucose-${(glucoseName(ms.glucose_type) || 'BLOOD').toLowerCase()}`;
}

const withUnit = (v, unit) => `${v}\u00a0${unit}`;

/** A Measure's value in French with its unit: "72,5 kg", "120/80 mmHg", "95 mg/dL (À jeun)". */
export function valueText(ms) {
  const key = kindKey(ms.kind);
  const m = measure(key);
  if (!m) return formatNumber(ms.value);
  if (m.components) return withUnit(`${formatNumber(ms.systolic)}/${formatNumber(ms.diastolic)}`, m.unit);
  if (m.glucose) {
    const g = glucoseType(glucoseName(ms.glucose_type) || 'BLOOD');
    const mo = glucoseMoment(momentName(ms.moment));
    const base = withUnit(formatNumber(ms.value), g ? g.unit : m.unit);
    return mo ? `${base} (${mo.label})` : base;
  }
  return withUnit(formatNumber(ms.value), m.unit);
}

/** The label of a Measure's kind ("Poids", "Glycémie · HbA1c"). */
export function kindLabel(ms) {
  const key = kindKey(ms.kind);
  const m = measure(key);
  if (!m) return '';
  if (!m.glucose) return m.label;
  const g = glucoseType(glucoseName(ms.glucose_type) || 'BLOOD');
  return g ? `${m.label} · ${g.label}` : m.label;
}

/**
 * A ListMeasuresReply as chart columns: { daily, x: [seconds], series:
 * [{ key, values }] } (x ascending; two series for blood pressure). RAW
 * uses the measures' times; DAILY the middle of each Paris day, with the
 * day's means.
 */
export function plotData(reply, key) {
  const bp = Boolean(measure(key) && measure(key).components);
  const daily = reply.mode === Mode.DAILY;
  let points;
  if (daily) {
    points = reply.daily.filter((d) => d.count > 0).map((d) => ({
      t: d.day_start_ms + 12 * 3600 * 1000, a: d.mean, b: d.mean2,
    }));
  } else {
    points = reply.measures.map((ms) => ({ t: ms.effective_ms, a: bp ? ms.systolic : ms.value, b: ms.diastolic }));
  }
  points.sort((p, q) => p.t - q.t);
  const x = points.map((p) => p.t / 1000);
  const series = bp
    ? [{ key: 'systolic', values: points.map((p) => p.a) }, { key: 'diastolic', values: points.map((p) => p.b) }]
    : [{ key: daily ? 'mean' : 'value', values: points.map((p) => p.a) }];
  return { daily, x, series };
}
