// Europe/Paris calendar arithmetic for the agenda, with Intl only (no time
// zone library): the agenda stores UTC milliseconds and shows them in Paris
// time, whatever the browser's own zone is. Weeks start on Monday.
//
// A "civil date" is { y, m, d } (m 1..12) in Paris; parisToUtc turns a Paris
// wall-clock time into the UTC instant, taking the summer-time changes (last
// Sunday of March and of October, 01:00 UTC) into account. A wall-clock time
// that does not exist (02:30 on the March change day) maps to the instant one
// hour later in summer time (03:30 CEST); one that exists twice (02:30 on the
// October day) maps to the first (summer-time) one.

export const TZ = 'Europe/Paris';
export const DAY_MS = 86400000;

const partsFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: TZ,
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  weekday: 'short',
});

const WEEKDAY = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Paris wall-clock parts of instant `ms`: { y, m, d, hh, mm, ss, wd } (wd 1 = Monday .. 7). */
export function parisParts(ms) {
  const out = {};
  for (const p of partsFmt.formatToParts(new Date(ms))) {
    if (p.type === 'weekday') out.wd = WEEKDAY[p.value];
    else if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return { y: out.year, m: out.month, d: out.day, hh: out.hour % 24, mm: out.minute, ss: out.second, wd: out.wd };
}

/** Offset of Paris from UTC at instant `ms`, in ms (3600000 in winter, 7200000 in summer). */
export function parisOffset(ms) {
  const p = parisParts(ms);
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The UTC instant of Paris wall-clock time y-m-d hh:mm. */
export function parisToUtc(y, m, d, hh = 0, mm = 0) {
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  // Try the offsets in force just before and after that moment; keep the
  // earliest that reads back as the wanted wall time.
  const o1 = parisOffset(wall - 2 * DAY_MS);
  const o2 = parisOffset(wall + 2 * DAY_MS);
  const candidates = [wall - Math.max(o1, o2), wall - Math.min(o1, o2)];
  for (const t of candidates) {
    if (parisOffset(t) === wall - t) return t;
  }
  // A time in the spring gap: read it with the winter offset (one hour later in summer time).
  return wall - Math.min(o1, o2);
}

/** Civil date n days after { y, m, d }. */
export function addDays({ y, m, d }, n) {
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

/** The Paris civil date of instant `ms`. */
export function parisDate(ms) {
  const p = parisParts(ms);
  return { y: p.y, m: p.m, d: p.d };
}

/** Paris midnight (UTC instant) starting the civil date. */
export function dayStart(date) {
  return parisToUtc(date.y, date.m, date.d, 0, 0);
}

/** Monday (civil date) of the Paris week that contains instant `ms`. */
export function weekMonday(ms) {
  const p = parisParts(ms);
  return addDays({ y: p.y, m: p.m, d: p.d }, 1 - p.wd);
}

/**
 * The Paris week (Monday first) that contains instant `ms`:
 * { from, to, days: [{ date, from, to }] x 7 }, from/to UTC ms, `to` exclusive.
 * A week that holds a summer-time change lasts 167 or 169 hours.
 */
export function parisWeek(ms) {
  const monday = weekMonday(ms);
  const days = [];
  for (let i = 0; i < 7; i++) {
    const date = addDays(monday, i);
    days.push({ date, from: dayStart(date), to: dayStart(addDays(date, 1)) });
  }
  return { from: days[0].from, to: days[6].to, days };
}

/** "2026-11-25" for an <input type="date">. */
export function dateValue({ y, m, d }) {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Parse "YYYY-MM-DD" into a civil date, or null. */
export function parseDateValue(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return null;
  const date = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  const back = addDays(date, 0);
  if (back.y !== date.y || back.m !== date.m || back.d !== date.d || date.y < 1) return null;
  return date;
}

/** "09:05" (Paris) of instant `ms`, for an <input type="time">. */
export function timeValue(ms) {
  const p = parisParts(ms);
  return `${String(p.hh).padStart(2, '0')}:${String(p.mm).padStart(2, '0')}`;
}

/** Parse "HH:MM" into { hh, mm }, or null. */
export function parseTimeValue(s) {
  const m = /^(\d{2}):(\d{2})(?::\d{2})?$/.exec(s || '');
  if (!m) return null;
  const hh = Number(m[1]);
  const mm = Number(m[2]);
  if (hh > 23 || mm > 59) return null;
  return { hh, mm };
}

/** Whether the civil dates are the same day. */
export function sameDate(a, b) {
  return a.y === b.y && a.m === b.m && a.d === b.d;
}

// ---- French display (always in Paris time) ----

const fmt = (opts) => new Intl.DateTimeFormat('fr-FR', { timeZone: TZ, ...opts });
const F = {
  time: fmt({ hour: '2-digit', minute: '2-digit' }),
  weekdayLong: fmt({ weekday: 'long', day: 'numeric', month: 'long' }),
  weekdayShort: fmt({ weekday: 'short', day: 'numeric', month: 'short' }),
  full: fmt({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }),
  dayMonthYear: fmt({ day: 'numeric', month: 'long', year: 'numeric' }),
  dayMonth: fmt({ day: 'numeric', month: 'long' }),
  day: fmt({ day: 'numeric' }),
};

// A civil date shown through the formatters: noon Paris of that day is safely inside it.
const noon = (date) => parisToUtc(date.y, date.m, date.d, 12, 0);

/** A formatter's text with the first of the month written as French does: "1er". */
const withFirst = (f, d) => f.formatToParts(d)
  .map((p) => (p.type === 'day' && p.value === '1' ? '1er' : p.value)).join('');

/** "09:05" */
export const formatTime = (ms) => F.time.format(new Date(ms));
/** "mercredi 25 novembre", "mardi 1er décembre" */
export const formatDay = (date) => withFirst(F.weekdayLong, new Date(noon(date)));
/** "mer. 25 nov.", "mar. 1er déc." */
export const formatDayShort = (date) => withFirst(F.weekdayShort, new Date(noon(date)));
/** "mercredi 25 novembre 2026", "mardi 1er décembre 2026" */
export const formatFullDate = (date) => withFirst(F.full, new Date(noon(date)));

/** "du 23 au 29 novembre 2026", "du 30 novembre au 6 décembre 2026", "du 28 décembre 2026 au 3 janvier 2027", "du 1er au 7 mars 2027" */
export function formatWeekRange(first, last) {
  const a = new Date(noon(first));
  const b = new Date(noon(last));
  let left;
  if (first.y !== last.y) left = withFirst(F.dayMonthYear, a);
  else if (first.m !== last.m) left = withFirst(F.dayMonth, a);
  else left = withFirst(F.day, a);
  return { from: left, to: withFirst(F.dayMonthYear, b) };
}
