// What the agenda screen's parts say about one AgendaEvent: whose it is,
// whether it can still change, its kind, status and hours in French, the
// order of a day's events, and the text of a reminder (shown by the app
// shell on every screen, src/app.js). Enum values come from the schema
// (src/enums.js); French labels are keyed by their names (src/i18n/fr.js).
import { fr } from '../../i18n/fr.js';
import { enumConstants, enumName, enumValue } from '../../enums.js';
import { parisDate, sameDate, formatTime, formatDay, formatDayShort } from '../../agenda-time.js';

const KIND = 'espace.v1.AgendaKind';
const STATUS = 'espace.v1.AgendaStatus';
export const Status = enumConstants(STATUS, 'AGENDA_STATUS_');
export const Change = enumConstants('espace.v1.AgendaChangeKind', 'AGENDA_CHANGE_');
export const Principal = enumConstants('espace.v1.PrincipalKind', 'PRINCIPAL_');
const SOURCE_PATIENT = enumValue('espace.v1.AgendaSource', 'AGENDA_SOURCE_PATIENT');
const FINAL = new Set([Status.FULFILLED, Status.CANCELLED, Status.NOSHOW, Status.ENTERED_IN_ERROR]);

/** The kinds offered by the form, in the order of their labels: [{ value, label }]. */
export const kindChoices = () => Object.entries(fr.agenda.kinds)
  .map(([name, label]) => ({ value: enumValue(KIND, name), label }));
export const DEFAULT_KIND = enumValue(KIND, 'AGENDA_KIND_RDV');

export const kindLabel = (ev) => fr.agenda.kinds[enumName(KIND, ev.kind)] || '';
export const statusLabel = (ev) => fr.agenda.statuses[enumName(STATUS, ev.status)] || '';
/** Who wrote an event that is not the patient's own ('' for the patient's). */
export const sourceLabel = (ev) => fr.agenda.bySource[enumName('espace.v1.AgendaSource', ev.source)] || '';
/** A participant's name: the one given, else what its id is (RPPS, FINESS, you). */
export function participantLabel(p) {
  const actor = fr.agenda.actor[enumName('espace.v1.AgendaActor', p.actor_type)];
  return p.display || (actor || String)(p.actor_id);
}

/** The CSS class part of an enum value name: "AGENDA_KIND_TACHE_SANTE" -> "tache-sante". */
function cssName(name, prefix) {
  return name ? name.slice(prefix.length).toLowerCase().replace(/_/g, '-') : 'unknown';
}
/** "kind-rdv", "kind-hospitalisation", ... (colours in style.css). */
export const kindClass = (ev) => `kind-${cssName(enumName(KIND, ev.kind), 'AGENDA_KIND_')}`;
/** "status-booked", "status-cancelled", ... */
export const statusClass = (ev) => `status-${cssName(enumName(STATUS, ev.status), 'AGENDA_STATUS_')}`;
export const isCancelled = (ev) => ev.status === Status.CANCELLED || ev.status === Status.ENTERED_IN_ERROR;

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
