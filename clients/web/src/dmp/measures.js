// The ten health measures as data (shared/domain/REFERENCE.md §2): LOINC
// code, UCUM unit, the unit as the patient reads it, and the plausibility
// ranges (hard: refused; soft: stored with a warning). Blood pressure is a
// panel of two components; glucose has its own sub-table of concepts and
// units and the moment of measurement (JDV_J157); BMI is computed, never
// entered. test/web/dmp-unit.test.mjs checks every value against the
// reference.
//
// A range is { min, max, minOpen }: a value is inside when min <= v <= max
// (min < v when minOpen). A bound that the reference does not give is null.

const r = (min, max, minOpen = false) => Object.freeze({ min, max, minOpen });

/**
 * The measure kinds in the order of the screen: { key, loinc, label, ucum,
 * unit (shown), hard, soft, integer, computed,
 * components, glucose }. `key` upper-cased is the espace.v1.MeasureKind
 * value name without MEASURE_KIND_ (dmp.proto).
 */
export const MEASURES = Object.freeze([
  Object.freeze({ key: 'weight', loinc: '29463-7', label: 'Poids', ucum: 'kg', unit: 'kg', hard: r(0, 650, true), soft: r(0.5, 300) }),
  Object.freeze({ key: 'height', loinc: '8302-2', label: 'Taille', ucum: 'cm', unit: 'cm', hard: r(20, 272), soft: r(40, 220) }),
  Object.freeze({ key: 'bmi', loinc: '39156-5', label: 'Indice de masse corporelle (IMC)', ucum: 'kg/m2', unit: 'kg/m²', hard: r(8, 80), soft: null, computed: true }),
  Object.freeze({ key: 'steps', loinc: '41950-7', label: 'Nombre de pas quotidien', ucum: '1/(24.h)', unit: 'pas/jour', hard: r(0, 200000), soft: r(null, 60000), integer: true }),
  Object.freeze({ key: 'temperature', loinc: '8310-5', label: 'Température corporelle', ucum: 'Cel', unit: '°C', hard: r(25, 46), soft: r(34, 42) }),
  Object.freeze({ key: 'waist', loinc: '8280-0', label: 'Tour de taille', ucum: 'cm', unit: 'cm', hard: r(20, 300), soft: r(40, 200) }),
  Object.freeze({ key: 'heart_rate', loinc: '8867-4', label: 'Fréquence cardiaque', ucum: '/min', unit: 'battements/min', hard: r(10, 350), soft: r(30, 220) }),
  Object.freeze({
    key: 'blood_pressure',
    loinc: '85354-9',
    label: 'Pression artérielle',
    components: Object.freeze([
      Object.freeze({ key: 'systolic', loinc: '8480-6', label: 'Systolique', ucum: 'mm[Hg]', unit: 'mmHg', hard: r(30, 320), soft: r(70, 250) }),
      Object.freeze({ key: 'diastolic', loinc: '8462-4', label: 'Diastolique', ucum: 'mm[Hg]', unit: 'mmHg', hard: r(10, 220), soft: r(35, 150) }),
    ]),
    unit: 'mmHg',
  }),
  Object.freeze({ key: 'pain', loinc: '72514-3', label: 'Niveau de douleur', ucum: '1', unit: 'sur 10', hard: r(0, 10), soft: null, integer: true }),
  Object.freeze({ key: 'glucose', loinc: '2345-7', label: 'Glycémie', glucose: true, unit: 'mg/dL' }),
]);

/** Glucose units (closed list JDV_J163) with their ranges. */
export const GLUCOSE_UNITS = Object.freeze({
  'mg/dL': Object.freeze({ ucum: 'mg/dL', unit: 'mg/dL', hard: r(5, 2000), soft: r(40, 600) }),
  '%': Object.freeze({ ucum: '%', unit: '%', hard: r(2, 25), soft: r(4, 15) }),
});

/**
 * Glucose concepts (JDV_J154) and their unit; `name` is the
 * espace.v1.GlucoseType value name without GLUCOSE_TYPE_, `days` says the
 * concept needs the number of days it covers (MesNumberOfDays). `alias` is
 * the other code accepted on input for the same concept (the IG's list page
 * gives 2339-0).
 */
export const GLUCOSE_TYPES = Object.freeze([
  Object.freeze({ name: 'BLOOD', code: '2345-7', system: 'LOINC', label: 'Glucose sanguin', unit: 'mg/dL', alias: '2339-0' }),
  Object.freeze({ name: 'INTERSTITIAL', code: 'MED-969', system: 'TRE_R308', label: 'Glucose interstitiel', unit: 'mg/dL', days: true }),
  Object.freeze({ name: 'GMI', code: 'MED-972', system: 'TRE_R308', label: 'Index de gestion de glycémie (IGG)', unit: '%', days: true }),
  Object.freeze({ name: 'HBA1C', code: '4548-4', system: 'LOINC', label: 'HbA1c', unit: '%' }),
]);

/** Moment of measurement (JDV_J157; A05 is CISP-2); `name` is the espace.v1.GlucoseMoment value name without GLUCOSE_MOMENT_. */
export const GLUCOSE_MOMENTS = Object.freeze([
  Object.freeze({ name: 'FASTING', code: '53049-3', system: 'LOINC', label: 'À jeun' }),
  Object.freeze({ name: 'BEFORE_MEAL', code: '88365-2', system: 'LOINC', label: 'Avant repas' }),
  Object.freeze({ name: 'POST_PRANDIAL', code: '16915-1', system: 'LOINC', label: 'Post-prandial' }),
  Object.freeze({ name: 'AFTER_EXERCISE', code: 'LA11865-5', system: 'LOINC', label: 'Après exercice' }),
  Object.freeze({ name: 'MALAISE', code: 'A05', system: 'CISP-2', label: 'Lors d\'un malaise' }),
  Object.freeze({ name: 'OTHER', code: 'LA46-8', system: 'LOINC', label: 'Autre' }),
]);

const byKey = new Map(MEASURES.map((m) => [m.key, m]));
const byLoinc = new Map(MEASURES.map((m) => [m.loinc, m]));

/** The kind `key` ('weight'...), or null. */
export const measure = (key) => byKey.get(key) || null;

/** The kind of LOINC code `code` (the glucose alias and concepts included), or null. */
export function measureByLoinc(code) {
  if (byLoinc.has(code)) return byLoinc.get(code);
  return GLUCOSE_TYPES.some((g) => g.code === code || g.alias === code) ? byKey.get('glucose') : null;
}

/** The kinds the patient may enter (all but the computed BMI). */
export const ENTERED = Object.freeze(MEASURES.filter((m) => !m.computed));

/** The glucose concept named `name` ('BLOOD'...) or of code `name` (or its alias), or null. */
export const glucoseType = (name) => GLUCOSE_TYPES.find((g) => g.name === name || g.code === name || g.alias === name) || null;

/** The moment named `name` ('FASTING'...) or of code `name`, or null. */
export const glucoseMoment = (name) => GLUCOSE_MOMENTS.find((m) => m.name === name || m.code === name) || null;

/**
 * The number of days an interstitial glucose or IGG covers: a whole number
 * within the service's limit (dmp.proto AddMeasureRequest.number_of_days;
 * the reference names the value set JDV_J164 without its values).
 */
export const GLUCOSE_DAYS = Object.freeze({ unit: 'jours', hard: r(1, 90), soft: null, integer: true });
