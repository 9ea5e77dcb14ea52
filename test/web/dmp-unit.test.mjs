// Unit tests of the web app's DMP modules that run in Node (node:test):
// the code tables of src/dmp against shared/domain/REFERENCE.md (§1 document
// types, classes and DOCPAT codes; §2 measures, units, ranges, glucose
// concepts and moments) and against dmp.proto's enums; the measure checks
// at the edges of every range (just inside, just outside), blood pressure
// as a pair, glucose without a moment refused, the BMI computation; the
// series shaping for the charts; the French strings.
// Run: cd clients/web && npm test
// REFERENCE.md is read from ES_REFERENCE, else <repo>/../shared/domain/
// REFERENCE.md (where CI and the main work tree have it); when it is in
// neither place the tests that read it are skipped and say so.
import './webcrypto.mjs'; // first: Node 18 has no global WebCrypto
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const webDir = process.env.ES_WEB_DIR || path.join(repo, 'clients/web');
const src = (p) => path.join(webDir, 'src', p);

const codes = await import(src('dmp/codes.js'));
const M = await import(src('dmp/measures.js'));
const C = await import(src('dmp/check.js'));
const S = await import(src('dmp/series.js'));
const { mimeOf, DOC_MAX, PIECE } = await import(src('dmp/transfer.js'));
const { dmpTopic } = await import(src('dmp/live.js'));
const { fr } = await import(src('i18n/fr.js'));
const { enumValues } = await import(src('enums.js'));

const refPath = process.env.ES_REFERENCE || path.resolve(repo, '../shared/domain/REFERENCE.md');
const REF = fs.existsSync(refPath) ? fs.readFileSync(refPath, 'utf8') : null;
const noRef = REF ? false : `REFERENCE.md not found at ${refPath} (set ES_REFERENCE)`;
if (!REF && process.env.ES_REFERENCE) throw new Error(noRef);

/** The rows of the first markdown table after heading `heading`: arrays of cell texts. */
function tableAfter(heading) {
  const lines = REF.slice(REF.indexOf(heading)).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    rows.push(lines[i].split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}
const num = (s) => Number(s.replace(/\s/g, ''));

// ---- document codes (REFERENCE.md §1) ----

test('document types: the 34 tender types, each with its group, code system and J07 label', { skip: noRef }, () => {
  const rows = tableAfter('## 1. DMP document types');
  assert.equal(rows.length, 34);
  const groupKey = new Map(codes.GROUPS.map((g) => [g.label, g.key]));
  let seen = 0;
  for (const [group, , typeCode, system, display] of rows) {
    const key = groupKey.get(group);
    assert.ok(key, `tender group ${group}`);
    if (typeCode.includes('**or**')) {
      // "Synthèse du dossier médical": SYNTH or 60591-5 (UNCONF), both listed
      for (const [c, label] of [['SYNTH', 'Synthèse'], ['60591-5', 'Synthèse médicale']]) {
        const d = codes.docType(c);
        assert.equal(d.group, key);
        assert.equal(d.label, label);
        assert.match(display, new RegExp(`"${label}"`));
        seen++;
      }
      continue;
    }
    const d = codes.docType(typeCode);
    assert.ok(d, `type ${typeCode}`);
    assert.equal(d.group, key, typeCode);
    assert.equal(d.system, system.startsWith('LOINC') ? 'LOINC' : 'TRE_A05', typeCode);
    assert.equal(d.label, display.replace(/\*\*/g, '').replace(/ \(label renamed\)$/, ''), typeCode);
    assert.equal(d.patient, false);
    assert.ok(codes.CLASS_CODES[d.classCode], `class of ${typeCode}`);
    seen++;
  }
  assert.equal(codes.DOC_TYPES.filter((d) => !d.patient).length, seen);
});

test('document types: DOCPAT01..09 with their TRE_A05 labels, class 90', { skip: noRef }, () => {
  const line = REF.split('\n').find((l) => l.includes('Codes for documents the patient uploads'));
  assert.equal(codes.PATIENT_TYPES.length, 9);
  for (const d of codes.PATIENT_TYPES) {
    assert.ok(line.includes(`${d.code} ${d.label}`), `${d.code} ${d.label}`);
    assert.equal(d.classCode, '90');
    assert.equal(d.system, 'TRE_A05');
  }
  assert.deepEqual(codes.PATIENT_TYPES.map((d) => d.code), ['DOCPAT01', 'DOCPAT02', 'DOCPAT03', 'DOCPAT04',
    'DOCPAT05', 'DOCPAT06', 'DOCPAT07', 'DOCPAT08', 'DOCPAT09']);
});

test('class codes (J57), visibility (TRE_A07), confidentiality (TRE_A08) and systems as the reference', { skip: noRef }, () => {
  const j57 = REF.split('\n').find((l) => l.includes('JDV_J57-ClassCode-DMP (OID 1.2.250.1.213.1.1.5.6), confirmed values'));
  for (const [code, label] of Object.entries(codes.CLASS_CODES)) assert.ok(j57.includes(`${code} ${label}`), `${code} ${label}`);
  assert.equal((j57.match(/\b\d\d [A-Z]/g) || []).length, Object.keys(codes.CLASS_CODES).length);
  for (const v of Object.keys(codes.VISIBILITY)) assert.ok(REF.includes(`\`${v}\``), v);
  assert.ok(REF.includes('N Normal, R Restreint, V Très restreint'));
  assert.deepEqual(codes.CONFIDENTIALITY, { N: 'Normal', R: 'Restreint', V: 'Très restreint' });
  for (const [name, s] of Object.entries(codes.SYSTEMS)) {
    assert.ok(REF.includes(`| ${s.oid} | \`${s.uri}\``) || REF.includes(`${s.oid} | \`${s.uri}\``), name);
  }
});

test('document groups are dmp.proto\'s DocCategory values; every type has a known group', () => {
  const cats = enumValues('espace.v1.DocCategory');
  for (const g of codes.GROUPS) assert.ok(Object.hasOwn(cats, `DOC_CATEGORY_${g.key}`), g.key);
  assert.equal(codes.GROUPS.length, Object.keys(cats).length - 1);
  for (const d of codes.DOC_TYPES) assert.ok(codes.groupLabel(d.group), d.code);
  assert.equal(codes.docType('nope'), null);
  assert.equal(codes.groupOf('DOCPAT03'), 'REPORTS');
  assert.equal(codes.typesOf('IMAGING').map((d) => d.code).join(), '18748-4,52040-3,DOCPAT04');
  assert.equal(codes.typesOf('').length, codes.DOC_TYPES.length);
});

// ---- measures (REFERENCE.md §2) ----

/** "reject <20 or >272 cm; warn <40 or >220" -> { hard, soft } ranges as in measures.js. */
function parseRanges(text) {
  const part = (word) => {
    const m = new RegExp(`${word} ([^;]*)`).exec(text);
    if (!m) return null;
    const lo = /([<≤])\s*([\d.]+)/.exec(m[1]);
    const hi = />\s*([\d.]+)/.exec(m[1]);
    return { min: lo ? num(lo[2]) : null, max: hi ? num(hi[1]) : null, minOpen: Boolean(lo && lo[1] === '≤') };
  };
  return { hard: part('reject'), soft: part('warn') };
}
const sameRange = (a, b, what) => {
  assert.equal(a.min, b.min, `${what} min`);
  assert.equal(a.max, b.max, `${what} max`);
  assert.equal(Boolean(a.minOpen), Boolean(b.minOpen), `${what} min open`);
};

test('measures: LOINC codes, UCUM units and ranges of the ten kinds as the reference table', { skip: noRef }, () => {
  const rows = tableAfter('## 2. The 10 health measures');
  const byCode = new Map();
  for (const row of rows) {
    const code = /^(\d+-\d)/.exec(row[2]);
    if (code) byCode.set(code[1], row);
  }
  const check = (spec, what) => {
    const row = byCode.get(spec.loinc);
    assert.ok(row, `${what}: no row for ${spec.loinc}`);
    assert.ok(row[4].includes(`\`${spec.ucum}\``), `${what}: unit ${spec.ucum} in ${row[4]}`);
    const v = row[6];
    if (/integer 0\.\.10/.test(v)) {
      sameRange(spec.hard, { min: 0, max: 10 }, what);
      assert.equal(spec.integer, true);
      return;
    }
    if (/Sanity check 8–80/.test(v)) {
      sameRange(spec.hard, { min: 8, max: 80 }, what);
      return;
    }
    const { hard, soft } = parseRanges(v);
    sameRange(spec.hard, hard, `${what} hard`);
    if (soft) sameRange(spec.soft, soft, `${what} soft`);
    else assert.equal(spec.soft, null, `${what}: no soft range`);
    assert.equal(Boolean(spec.integer), /^integer/.test(v), `${what} integer`);
  };
  for (const m of M.MEASURES) {
    if (m.glucose) continue;
    if (m.components) {
      assert.ok(byCode.get(m.loinc), 'BP panel');
      for (const c of m.components) check(c, c.key);
    } else {
      check(m, m.key);
    }
  }
  assert.equal(M.measure('bmi').computed, true);
  assert.match(byCode.get('39156-5')[6], /computed, not accepted as input/);
  // glucose: units and ranges of the glucose row
  const g = rows.find((r) => r[1] === 'Glycémie')[6];
  for (const [unit, spec] of Object.entries(M.GLUCOSE_UNITS)) {
    const m = new RegExp(`${unit.replace('%', '%')}: (reject [^.]*)`).exec(g);
    assert.ok(m, unit);
    const { hard, soft } = parseRanges(m[1]);
    sameRange(spec.hard, hard, `${unit} hard`);
    sameRange(spec.soft, soft, `${unit} soft`);
  }
});

test('glucose concepts (J154) and moments (J157) as the reference', { skip: noRef }, () => {
  const rows = tableAfter('Glucose sub-table');
  assert.equal(rows.length, M.GLUCOSE_TYPES.length);
  for (const g of M.GLUCOSE_TYPES) {
    const row = rows.find((r) => r[1].startsWith(g.code));
    assert.ok(row, g.code);
    assert.equal(row[0], g.label === 'Index de gestion de glycémie (IGG)' ? 'Index de gestion de glycémie (IGG)' : g.label);
    assert.ok(row[3].startsWith(g.unit), `${g.code} unit`);
  }
  assert.ok(REF.includes('Accept both on input'));
  assert.equal(M.glucoseType('2339-0').code, '2345-7');
  const line = REF.split('\n').find((l) => l.startsWith('Moment of measurement'));
  for (const mo of M.GLUCOSE_MOMENTS) {
    assert.ok(line.toLowerCase().includes(`${mo.code} ${mo.label}`.toLowerCase())
      || line.includes(`\`${mo.code}\` "${mo.label}"`), `${mo.code} ${mo.label}`);
  }
});

test('measure kinds, glucose concepts and moments are dmp.proto enum values, with the codes of its comments', () => {
  const proto = fs.readFileSync(path.join(repo, 'proto/espace/v1/dmp.proto'), 'utf8');
  for (const m of M.MEASURES) {
    const name = `MEASURE_KIND_${m.key.toUpperCase()}`;
    assert.equal(typeof S.kindValue(m.key), 'number', name);
    assert.equal(S.kindKey(S.kindValue(m.key)), m.key);
    const line = proto.split('\n').find((l) => l.trim().startsWith(`${name} `));
    if (!m.glucose) assert.ok(line.includes(m.loinc), `${name} comment names ${m.loinc}`); // glucose: per concept, below
    if (m.ucum) assert.ok(line.includes(m.ucum), `${name} comment names ${m.ucum}`);
  }
  for (const g of M.GLUCOSE_TYPES) {
    const line = proto.split('\n').find((l) => l.trim().startsWith(`GLUCOSE_TYPE_${g.name} `));
    assert.ok(line && line.includes(g.code) && line.includes(g.unit), g.name);
    assert.equal(S.glucoseName(S.glucoseValue(g.name)), g.name);
  }
  for (const mo of M.GLUCOSE_MOMENTS) {
    const line = proto.split('\n').find((l) => l.trim().startsWith(`GLUCOSE_MOMENT_${mo.name} `));
    assert.ok(line && line.includes(mo.code), mo.name);
    assert.equal(S.momentName(S.momentValue(mo.name)), mo.name);
  }
  assert.equal(M.ENTERED.length, 9);
  assert.ok(!M.ENTERED.some((m) => m.key === 'bmi'));
});

// The service's C tables (services/dmp/codes.c): the web shows and checks
// with the same codes, labels, groups, classes and ranges.
const codesC = path.join(repo, 'services/dmp/codes.c');
const noCodesC = fs.existsSync(codesC) ? false : `${codesC} not found (the dmp service is not in this tree)`;

test('document types and ranges are those of the service (services/dmp/codes.c)', { skip: noCodesC }, () => {
  const c = fs.readFileSync(codesC, 'utf8');
  const rows = [...c.matchAll(/\{"([^"]+)", (L|A05), "([^"]+)", CAT\((\w+)\), "(\d+)"/g)];
  assert.equal(rows.length, codes.DOC_TYPES.length);
  for (const [, code, sys, label, cat, cls] of rows) {
    const d = codes.docType(code);
    assert.ok(d, code);
    assert.deepEqual([d.system, d.label, d.group, d.classCode], [sys === 'L' ? 'LOINC' : 'TRE_A05', label, cat, cls], code);
  }
  const bound = (v) => (/NONE_(LO|HI)/.test(v) ? null : Number(v));
  const ranges = new Map([...c.matchAll(/dmp_range_(\w+) = \{([^}]+)\}/g)].map(([, name, body]) => {
    const [lo, hi, excl, slo, shi] = body.split(',').map((x) => x.trim());
    return [name, { hard: { min: bound(lo), max: bound(hi), minOpen: excl === '1' }, soft: { min: bound(slo), max: bound(shi) } }];
  }));
  const specs = [
    ...M.MEASURES.filter((m) => !m.components && !m.glucose).map((m) => [m.key, m]),
    ...M.measure('blood_pressure').components.map((x) => [x.key, x]),
    ['glucose_mgdl', M.GLUCOSE_UNITS['mg/dL']], ['glucose_pct', M.GLUCOSE_UNITS['%']],
  ];
  assert.equal(ranges.size, specs.length);
  for (const [name, spec] of specs) {
    const r = ranges.get(name);
    assert.ok(r, name);
    sameRange(spec.hard, r.hard, `${name} hard`);
    if (spec.soft) sameRange(spec.soft, { ...r.soft, minOpen: false }, `${name} soft`);
    else assert.deepEqual(r.soft, { min: null, max: null }, `${name} has no soft range`);
  }
});

// ---- checks at the edges ----

/** A value just inside / just outside a bound. */
const EPS = 0.01;

test('hard ranges: just inside accepted, just outside refused with the range in French, for every kind', () => {
  for (const m of M.MEASURES) {
    if (m.computed || m.glucose) continue;
    const specs = m.components ? m.components.map((c) => [c.key, c]) : [['value', m]];
    for (const [field, spec] of specs) {
      const other = !m.components ? {} : field === 'systolic' ? { diastolic: '10' } : { systolic: '320' };
      const step = spec.integer ? 1 : EPS;
      const input = (v) => ({ ...other, [field]: String(v).replace('.', ',') });
      const lo = spec.hard.minOpen ? spec.hard.min + step : spec.hard.min;
      const loOut = spec.hard.minOpen ? spec.hard.min : spec.hard.min - step;
      for (const v of [lo, spec.hard.max]) {
        const r = C.checkMeasure(m.key, input(v));
        assert.equal(r.errors[field], undefined, `${m.key}.${field} ${v}: ${r.errors[field]}`);
        assert.equal(r.values[field], v);
      }
      for (const v of [loOut, spec.hard.max + step]) {
        const r = C.checkMeasure(m.key, input(v));
        assert.match(r.errors[field] || '', /la valeur doit être (entre|supérieure à)/, `${m.key}.${field} ${v}`);
        assert.equal(r.ok, false);
      }
    }
  }
  assert.equal(C.checkMeasure('weight', { value: '0' }).errors.value,
    'Poids : la valeur doit être supérieure à 0\u00a0kg et au plus 650\u00a0kg.');
  assert.equal(C.checkMeasure('height', { value: '19,99' }).errors.value,
    'Taille : la valeur doit être entre 20\u00a0cm et 272\u00a0cm.');
});

test('soft ranges: stored with a French warning just outside, silent just inside', () => {
  const cases = [['weight', 0.5, 0.49], ['weight', 300, 300.01], ['height', 40, 39.99], ['height', 220, 220.01],
    ['temperature', 34, 33.99], ['temperature', 42, 42.01], ['waist', 40, 39.99], ['waist', 200, 200.01],
    ['heart_rate', 30, 29.99], ['heart_rate', 220, 220.01], ['steps', 60000, 60001]];
  for (const [key, inside, outside] of cases) {
    const a = C.checkMeasure(key, { value: String(inside) });
    assert.equal(a.ok, true, `${key} ${inside}`);
    assert.deepEqual(a.warnings, [], `${key} ${inside}`);
    const b = C.checkMeasure(key, { value: String(outside) });
    assert.equal(b.ok, true, `${key} ${outside}`);
    assert.equal(b.warnings.length, 1, `${key} ${outside}`);
    assert.match(b.warnings[0], /valeur inhabituelle \(habituellement .*\)\. Elle sera enregistrée/);
  }
  const bp = C.checkMeasure('blood_pressure', { systolic: '260', diastolic: '30' });
  assert.equal(bp.ok, true);
  assert.equal(bp.warnings.length, 2);
});

test('whole numbers for steps and pain; French decimals; empty and non-numeric input', () => {
  assert.equal(C.checkMeasure('steps', { value: '1000,5' }).errors.value, 'Nombre de pas quotidien : saisissez un nombre entier.');
  assert.equal(C.checkMeasure('pain', { value: '3.5' }).errors.value, 'Niveau de douleur : saisissez un nombre entier.');
  assert.equal(C.checkMeasure('pain', { value: '11' }).ok, false);
  assert.equal(C.checkMeasure('pain', { value: '-1' }).ok, false);
  assert.equal(C.checkMeasure('pain', { value: '0' }).ok, true);
  assert.equal(C.checkMeasure('pain', { value: '10' }).ok, true);
  assert.equal(C.checkMeasure('weight', { value: ' 72,5 ' }).values.value, 72.5);
  assert.equal(C.checkMeasure('weight', { value: '' }).errors.value, 'Poids : saisissez une valeur.');
  assert.match(C.checkMeasure('weight', { value: '72kg' }).errors.value, /saisissez un nombre/);
  assert.match(C.checkMeasure('weight', { value: '1e2' }).errors.value, /saisissez un nombre/);
  for (const bad of ['', ' ', '7,2,1', '--1', ',', 'NaN', 'Infinity']) assert.ok(Number.isNaN(C.parseDecimal(bad)), bad);
  assert.equal(C.parseDecimal('1 000'), 1000);
  assert.equal(C.parseDecimal(',5'), 0.5);
});

test('blood pressure is a pair: both required, systolic above diastolic', () => {
  const ok = C.checkMeasure('blood_pressure', { systolic: '120', diastolic: '80' });
  assert.deepEqual([ok.ok, ok.values], [true, { systolic: 120, diastolic: 80 }]);
  const eq = C.checkMeasure('blood_pressure', { systolic: '90', diastolic: '90' });
  assert.equal(eq.errors.diastolic, 'La pression systolique doit être supérieure à la pression diastolique.');
  const one = C.checkMeasure('blood_pressure', { systolic: '120', diastolic: '' });
  assert.equal(one.errors.diastolic, 'Pression diastolique : saisissez une valeur.');
});

test('glucose: moment required; unit and range by concept; days for interstitial and IGG only', () => {
  const none = C.checkMeasure('glucose', { type: 'BLOOD', value: '95' });
  assert.equal(none.ok, false);
  assert.equal(none.errors.moment, 'Indiquez le moment de la mesure (à jeun, avant repas…).');
  assert.equal(C.checkMeasure('glucose', { type: 'BLOOD', value: '95', moment: 'FASTING' }).ok, true);
  assert.equal(C.checkMeasure('glucose', { value: '95', moment: 'FASTING' }).ok, true); // BLOOD by default
  assert.match(C.checkMeasure('glucose', { type: 'BLOOD', value: '4,99', moment: 'FASTING' }).errors.value, /entre 5\u00a0mg\/dL et 2\u00a0000\u00a0mg\/dL/);
  assert.equal(C.checkMeasure('glucose', { type: 'BLOOD', value: '2000', moment: 'FASTING' }).ok, true);
  assert.equal(C.checkMeasure('glucose', { type: 'BLOOD', value: '2000,01', moment: 'FASTING' }).ok, false);
  assert.equal(C.checkMeasure('glucose', { type: 'BLOOD', value: '39', moment: 'OTHER' }).warnings.length, 1);
  assert.equal(C.checkMeasure('glucose', { type: 'HBA1C', value: '25', moment: 'OTHER' }).ok, true);
  assert.equal(C.checkMeasure('glucose', { type: 'HBA1C', value: '25,1', moment: 'OTHER' }).ok, false);
  assert.equal(C.checkMeasure('glucose', { type: 'HBA1C', value: '1,99', moment: 'OTHER' }).ok, false);
  assert.equal(C.checkMeasure('glucose', { type: 'HBA1C', value: '3,9', moment: 'OTHER' }).warnings.length, 1);
  const gmi = C.checkMeasure('glucose', { type: 'GMI', value: '7', moment: 'OTHER', days: '' });
  assert.match(gmi.errors.days, /Nombre de jours couverts/);
  assert.equal(C.checkMeasure('glucose', { type: 'GMI', value: '7', moment: 'OTHER', days: '14' }).values.days, 14);
  assert.equal(C.checkMeasure('glucose', { type: 'INTERSTITIAL', value: '100', moment: 'OTHER', days: '91' }).ok, false);
  assert.equal(C.checkMeasure('glucose', { type: 'NOPE', value: '100', moment: 'OTHER' }).errors.type, 'Choisissez le type de glycémie.');
});

test('BMI: computed from weight and height, never entered; sanity range 8-80', () => {
  assert.match(C.checkMeasure('bmi', { value: '22' }).errors.kind, /IMC est calculé/);
  assert.equal(C.computeBmi(70, 175), 22.9);
  assert.equal(C.computeBmi(80, 180), 24.7);
  assert.equal(C.computeBmi(0, 175), null);
  assert.equal(C.computeBmi(70, 0), null);
  assert.equal(C.computeBmi(10, 250), null); // 1.6: below 8
  assert.equal(C.computeBmi(650, 100), null); // 650: above 80
  assert.equal(C.checkMeasure('nope', { value: '1' }).errors.kind, 'Choisissez une mesure.');
});

// ---- series for the charts ----

const Kind = (key) => S.kindValue(key);

test('series: raw points sorted in seconds; blood pressure as two lines; daily means', () => {
  const raw = {
    mode: S.Mode.RAW,
    measures: [
      { kind: Kind('weight'), effective_ms: 2000000, value: 71 },
      { kind: Kind('weight'), effective_ms: 1000000, value: 72.5 },
    ],
    daily: [],
  };
  assert.deepEqual(S.plotData(raw, 'weight'), { daily: false, x: [1000, 2000], series: [{ key: 'value', values: [72.5, 71] }] });
  const bp = { mode: S.Mode.RAW, measures: [{ kind: Kind('blood_pressure'), effective_ms: 5000, systolic: 120, diastolic: 80 }], daily: [] };
  assert.deepEqual(S.plotData(bp, 'blood_pressure').series, [{ key: 'systolic', values: [120] }, { key: 'diastolic', values: [80] }]);
  const daily = {
    mode: S.Mode.DAILY,
    measures: [],
    daily: [{ day_start_ms: 0, count: 2, mean: 10, mean2: 5 }, { day_start_ms: 86400000, count: 0, mean: 0 }],
  };
  const d = S.plotData(daily, 'blood_pressure');
  assert.equal(d.daily, true);
  assert.deepEqual(d.x, [43200]);
  assert.deepEqual(d.series.map((s) => s.values), [[10], [5]]);
});

test('series: values in French with units, chart ids, chart list', () => {
  assert.equal(S.valueText({ kind: Kind('weight'), value: 72.5 }), '72,5\u00a0kg');
  assert.equal(S.valueText({ kind: Kind('blood_pressure'), systolic: 120, diastolic: 80 }), '120/80\u00a0mmHg');
  assert.equal(S.valueText({ kind: Kind('steps'), value: 12000 }), '12\u00a0000\u00a0pas/jour');
  assert.equal(S.valueText({ kind: Kind('glucose'), glucose_type: S.glucoseValue('BLOOD'), moment: S.momentValue('FASTING'), value: 95 }),
    '95\u00a0mg/dL (À jeun)');
  assert.equal(S.valueText({ kind: Kind('glucose'), glucose_type: S.glucoseValue('HBA1C'), moment: 0, value: 6.5 }), '6,5\u00a0%');
  assert.equal(S.kindLabel({ kind: Kind('glucose'), glucose_type: S.glucoseValue('HBA1C') }), 'Glycémie · HbA1c');
  assert.equal(S.chartIdOf({ kind: Kind('heart_rate') }), 'heart_rate');
  assert.equal(S.chartIdOf({ kind: Kind('glucose'), glucose_type: 0 }), 'glucose-blood');
  assert.equal(S.chartIdOf({ kind: Kind('glucose'), glucose_type: S.glucoseValue('GMI') }), 'glucose-gmi');
  const ids = S.chartSpecs().map((s) => s.id);
  assert.deepEqual(ids, ['weight', 'height', 'bmi', 'steps', 'temperature', 'waist', 'heart_rate', 'blood_pressure', 'pain', 'glucose-blood']);
  assert.deepEqual(S.chartSpecs(['HBA1C']).slice(-2).map((s) => [s.id, s.unit]), [['glucose-blood', 'mg/dL'], ['glucose-hba1c', '%']]);
});

// ---- transfer, live, strings ----

test('documents: accepted formats by type or extension; limits of dmp.proto', () => {
  assert.equal(mimeOf({ name: 'a.pdf', type: 'application/pdf' }), 'application/pdf');
  assert.equal(mimeOf({ name: 'SCAN.JPG', type: '' }), 'image/jpeg');
  assert.equal(mimeOf({ name: 'cda.xml', type: 'application/xml' }), 'text/xml');
  assert.equal(mimeOf({ name: 'notes.txt', type: 'text/plain' }), 'text/plain');
  assert.equal(mimeOf({ name: 'virus.exe', type: 'application/x-msdownload' }), '');
  assert.equal(mimeOf({ name: 'doc.docx', type: '' }), '');
  assert.equal(DOC_MAX, 20 * 1024 * 1024);
  assert.equal(PIECE, 128 * 1024);
  assert.equal(dmpTopic('ab'.repeat(16)), `patient.${'ab'.repeat(16)}.dmp`);
});

test('French strings: every measure source, every format, the navigation', () => {
  for (const name of Object.keys(enumValues('espace.v1.MeasureSource'))) {
    assert.ok(Object.hasOwn(fr.measures.sources, name), name);
  }
  for (const mime of ['application/pdf', 'image/jpeg', 'image/png', 'text/plain', 'text/xml']) assert.ok(fr.documents.formats[mime]);
  assert.equal(fr.nav.documents, 'Documents');
  assert.equal(fr.nav.measures, 'Mesures');
  assert.equal(fr.documents.size(512), '512 octets');
  assert.equal(fr.documents.size(2048), '2 Ko');
  assert.equal(fr.documents.size(3 * 1024 * 1024), '3,0 Mo');
});
