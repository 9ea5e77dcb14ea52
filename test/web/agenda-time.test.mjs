// Unit tests of clients/web/src/agenda-time.js: Europe/Paris weeks and
// wall-clock conversions, across the summer-time changes (last Sunday of
// March and of October, 01:00 UTC) and month / year boundaries. They must
// not depend on the machine's time zone: run them under TZ=UTC and
// TZ=America/New_York too (the last test does).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  parisParts, parisOffset, parisToUtc, parisWeek, weekMonday, addDays, dayStart, dateValue,
  parseDateValue, timeValue, parseTimeValue, formatTime, formatDay, formatWeekRange,
  formatDayShort, formatFullDate,
} from '../../clients/web/src/agenda-time.js';

const H = 3600000;
const utc = (s) => Date.parse(s);

test('offsets: +1 h in winter, +2 h in summer, changing at 01:00 UTC', () => {
  assert.equal(parisOffset(utc('2026-01-15T12:00:00Z')), H);
  assert.equal(parisOffset(utc('2026-07-15T12:00:00Z')), 2 * H);
  assert.equal(parisOffset(utc('2026-03-29T00:59:59Z')), H);
  assert.equal(parisOffset(utc('2026-03-29T01:00:00Z')), 2 * H);
  assert.equal(parisOffset(utc('2026-10-25T00:59:59Z')), 2 * H);
  assert.equal(parisOffset(utc('2026-10-25T01:00:00Z')), H);
});

test('parisToUtc: ordinary times, the spring gap and the autumn repeat', () => {
  assert.equal(parisToUtc(2026, 11, 25, 9, 30), utc('2026-11-25T08:30:00Z'));
  assert.equal(parisToUtc(2026, 7, 14, 0, 0), utc('2026-07-13T22:00:00Z'));
  // 29 March 2026: 02:00 -> 03:00; midnight is still winter time
  assert.equal(parisToUtc(2026, 3, 29, 0, 0), utc('2026-03-28T23:00:00Z'));
  assert.equal(parisToUtc(2026, 3, 29, 1, 59), utc('2026-03-29T00:59:00Z'));
  assert.equal(parisToUtc(2026, 3, 29, 3, 0), utc('2026-03-29T01:00:00Z'));
  assert.equal(parisToUtc(2026, 3, 29, 2, 30), utc('2026-03-29T01:30:00Z'), 'gap: read as 03:30 CEST');
  // 25 October 2026: 03:00 -> 02:00; 02:30 happens twice, the first one wins
  assert.equal(parisToUtc(2026, 10, 25, 2, 30), utc('2026-10-25T00:30:00Z'));
  assert.equal(parisToUtc(2026, 10, 25, 3, 0), utc('2026-10-25T02:00:00Z'));
  assert.equal(parisToUtc(2026, 10, 26, 0, 0), utc('2026-10-25T23:00:00Z'));
  // every wall time of the year reads back (except the gap)
  for (let t = utc('2026-01-01T00:00:00Z'); t < utc('2027-01-01T00:00:00Z'); t += 37 * 60000 * 7) {
    const p = parisParts(t);
    assert.equal(parisToUtc(p.y, p.m, p.d, p.hh, p.mm), t - (t % 60000) - (p.hh === 2 && p.m === 10 && p.d === 25 && parisOffset(t) === H ? H : 0));
  }
});

test('a week containing the March change lasts 167 h, Monday first', () => {
  const w = parisWeek(utc('2026-03-26T10:00:00Z')); // Thursday
  assert.equal(w.from, utc('2026-03-22T23:00:00Z'), 'Monday 23 March 00:00 CET');
  assert.equal(w.to, utc('2026-03-29T22:00:00Z'), 'Monday 30 March 00:00 CEST');
  assert.equal(w.to - w.from, 167 * H);
  assert.deepEqual(w.days.map((d) => dateValue(d.date)), ['2026-03-23', '2026-03-24', '2026-03-25',
    '2026-03-26', '2026-03-27', '2026-03-28', '2026-03-29']);
  assert.equal(w.days[6].to - w.days[6].from, 23 * H, 'Sunday 29 March has 23 hours');
  for (let i = 0; i < 6; i++) assert.equal(w.days[i].to, w.days[i + 1].from);
  // the Sunday itself, after the change, is in the same week
  assert.equal(parisWeek(utc('2026-03-29T21:59:59Z')).from, w.from);
  assert.equal(parisWeek(utc('2026-03-29T22:00:00Z')).from, w.to);
});

test('a week containing the October change lasts 169 h', () => {
  const w = parisWeek(utc('2026-10-25T12:00:00Z')); // the Sunday
  assert.equal(w.from, utc('2026-10-18T22:00:00Z'), 'Monday 19 October 00:00 CEST');
  assert.equal(w.to, utc('2026-10-25T23:00:00Z'), 'Monday 26 October 00:00 CET');
  assert.equal(w.to - w.from, 169 * H);
  assert.equal(w.days[6].to - w.days[6].from, 25 * H, 'Sunday 25 October has 25 hours');
  // 2024 (docs/agenda.md): 31 March and 27 October
  const s = parisWeek(utc('2024-03-31T12:00:00Z'));
  assert.equal(s.days[6].to - s.days[6].from, 23 * H);
  assert.equal(dateValue(s.days[0].date), '2024-03-25');
  const a = parisWeek(utc('2024-10-27T12:00:00Z'));
  assert.equal(a.days[6].to - a.days[6].from, 25 * H);
  assert.equal(dateValue(a.days[0].date), '2024-10-21');
});

test('weeks across month and year ends; a Sunday late evening in UTC is Monday in Paris', () => {
  const w = parisWeek(utc('2026-12-31T12:00:00Z'));
  assert.deepEqual(w.days.map((d) => dateValue(d.date)), ['2026-12-28', '2026-12-29', '2026-12-30',
    '2026-12-31', '2027-01-01', '2027-01-02', '2027-01-03']);
  assert.equal(w.to - w.from, 168 * H);
  // Sunday 23:30 UTC = Monday 00:30 Paris: next week already
  assert.equal(dateValue(weekMonday(utc('2026-11-29T23:30:00Z'))), '2026-11-30');
  assert.equal(dateValue(weekMonday(utc('2026-11-29T22:59:00Z'))), '2026-11-23');
  assert.deepEqual(addDays({ y: 2028, m: 2, d: 28 }, 1), { y: 2028, m: 2, d: 29 });
  assert.deepEqual(addDays({ y: 2027, m: 1, d: 3 }, -7), { y: 2026, m: 12, d: 27 });
  assert.equal(dayStart({ y: 2027, m: 1, d: 1 }), utc('2026-12-31T23:00:00Z'));
});

test('form values and French display', () => {
  assert.deepEqual(parseDateValue('2026-03-29'), { y: 2026, m: 3, d: 29 });
  assert.equal(parseDateValue('2026-02-30'), null);
  assert.equal(parseDateValue('29/03/2026'), null);
  assert.deepEqual(parseTimeValue('09:05'), { hh: 9, mm: 5 });
  assert.equal(parseTimeValue('24:00'), null);
  assert.equal(parseTimeValue(''), null);
  assert.equal(timeValue(utc('2026-07-01T07:05:00Z')), '09:05');
  assert.equal(formatTime(utc('2026-01-01T07:05:00Z')), '08:05');
  assert.equal(formatDay({ y: 2026, m: 3, d: 29 }), 'dimanche 29 mars');
  const r = formatWeekRange({ y: 2026, m: 12, d: 28 }, { y: 2027, m: 1, d: 3 });
  assert.deepEqual(r, { from: '28 décembre 2026', to: '3 janvier 2027' });
  assert.deepEqual(formatWeekRange({ y: 2026, m: 11, d: 23 }, { y: 2026, m: 11, d: 29 }),
    { from: '23', to: '29 novembre 2026' });
  assert.deepEqual(formatWeekRange({ y: 2026, m: 11, d: 30 }, { y: 2026, m: 12, d: 6 }),
    { from: '30 novembre', to: '6 décembre 2026' });
});

test('the first of the month is "1er", and only the first', () => {
  assert.equal(formatDay({ y: 2026, m: 12, d: 1 }), 'mardi 1er décembre');
  assert.equal(formatFullDate({ y: 2026, m: 12, d: 1 }), 'mardi 1er décembre 2026');
  assert.equal(formatDayShort({ y: 2026, m: 12, d: 1 }), 'mar. 1er déc.');
  assert.equal(formatDay({ y: 2026, m: 12, d: 11 }), 'vendredi 11 décembre');
  assert.equal(formatDay({ y: 2026, m: 12, d: 21 }), 'lundi 21 décembre');
  assert.deepEqual(formatWeekRange({ y: 2027, m: 3, d: 1 }, { y: 2027, m: 3, d: 7 }),
    { from: '1er', to: '7 mars 2027' });
  assert.deepEqual(formatWeekRange({ y: 2027, m: 1, d: 26 }, { y: 2027, m: 2, d: 1 }),
    { from: '26 janvier', to: '1er février 2027' });
  assert.deepEqual(formatWeekRange({ y: 2026, m: 12, d: 28 }, { y: 2027, m: 1, d: 1 }),
    { from: '28 décembre 2026', to: '1er janvier 2027' });
});

test('results do not depend on the process time zone', { skip: process.env.ES_TZ_CHILD ? 'child' : false }, () => {
  for (const tz of ['UTC', 'America/New_York', 'Pacific/Kiritimati']) {
    const r = spawnSync(process.execPath, ['--test', fileURLToPath(import.meta.url)], {
      env: { ...process.env, TZ: tz, ES_TZ_CHILD: '1' }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, `TZ=${tz}: ${r.stdout}\n${r.stderr}`);
  }
});
