// The live DmpEvents of the patient's record (dmp.proto: published after
// the commit on "patient.<patient id>.dmp") for the Documents and Mesures
// screens: each one decoded and handed over; a Resync or the connection
// coming back online (events may have been missed) calls `onGap` so that
// the screen reads its data again.
import { STATE } from '../protocol.js';
import { enumConstants } from '../enums.js';

export const EventKind = enumConstants('espace.v1.DmpEventKind', 'DMP_EVENT_KIND_');

/** The topic of the record of patient `patientId` (proto/names.h topic_patient(id, "dmp")). */
export const dmpTopic = (patientId) => `patient.${patientId}.dmp`;

/** Listen on `conn`; returns the function that stops listening. */
export function watchDmp({ conn, patientId, onEvent, onGap }) {
  const topic = dmpTopic(patientId);
  const offs = [];
  offs.push(conn.on('event', (ev) => {
    if (ev.topic !== topic) return;
    let e;
    try {
      e = conn.codec.decode('espace.v1.DmpEvent', ev.body);
    } catch (err) {
      console.warn('espace: undecodable dmp event', err.message);
      return;
    }
    onEvent(e);
  }));
  offs.push(conn.on('resync', () => onGap()));
  let wasOnline = conn.state === STATE.ONLINE;
  offs.push(conn.on('state', (s) => {
    if (s === STATE.ONLINE && !wasOnline) onGap();
    wasOnline = s === STATE.ONLINE;
  }));
  return () => {
    for (const off of offs) off();
  };
}
