// What the agenda screen's parts say about one AgendaEvent: whose it is,
// whether it can still change, its hours in French, the order of a day's
// events, and the text of a reminder (shown by the app shell on every
// screen, src/app.js).
import { fr } from '../../i18n/fr.js';
import { parisDate, sameDate, formatTime, formatDay, formatDayShort } from '../../agenda-time.js';

export const KIND = { RDV: 1, HOSPITALISATION: 2, RAPPEL: 3, TACHE_SANTE: 4 };
export const STATUS = { BOOKED: 3, FULFILLED: 5, CANCELLED: 6, NOSHOW: 7, ENTERED_IN_ERROR: 8 };
const FINAL = new Set([STATUS.FULFILLED, STATUS.CANCELLED, STATUS.NOSHOW, STATUS.ENTERED_IN_ERROR]);
const SOURCE_PATIENT = 1;
export const PRINCIPAL_PATIENT = 1;
export const CHANGE_DELETED = 4;

/** "Rappel : <titre> à <heure>" for an AgendaReminder (app-wide notice). */
export function reminderText(rem) {
  const ev = rem && rem.event;
  if (!ev || !ev.title) return '';
  const day = parisDate(ev.start_ms);
  if (ev.all_day) return fr.agenda.reminderAllDay(ev.title, formatDay(day));
  if (sameDate(day, parisDate(Date.now()))) return fr.agenda.reminder(ev.title, formatTime(ev.start_ms));
  return fr.agenda.reminder(ev.title, `${formatTime(ev.start_ms)} (${formatDay(day)})`);
}

export const isOwn = (ev) => ev.source === SOURCE_PATIENT;
export const isFinal = (ev) => FINAL.has(ev.status);

/** "09:00 – 10:00", "Toute la journée", "Toute la journée, jusqu'au ..." */
export function whenText(ev) {
  if (ev.all_day) {
    const last = parisDate(ev.end_ms - 1);
    return sameDate(parisDate(ev.start_ms), last) ? fr.agenda.allDay
      : `${fr.agenda.allDay}, ${fr.agenda.untilDay(formatDay(last))}`;
  }
  const end = sameDate(parisDate(ev.start_ms), parisDate(ev.end_ms - 1))
    ? formatTime(ev.end_ms) : `${formatDayShort(parisDate(ev.end_ms))} ${formatTime(ev.end_ms)}`;
  return fr.agenda.timeRange(formatTime(ev.start_ms), end);
}

export function byStart(a, b) {
  return (a.start_ms - b.start_ms) || (a.all_day === b.all_day ? 0 : a.all_day ? -1 : 1) ||
    a.title.localeCompare(b.title);
}
