// The "Accès en urgence en cours" card of "Mes autorisations": each running
// emergency access (ListEmergencies) — who, since when, until when, why —
// with a button that ends it (EndEmergency).
import { h, hex } from '../../dom.js';
import { fr } from '../../i18n/fr.js';

const T = fr.consent;

const when = (ms) => h('time', { dateTime: new Date(ms).toISOString() }, fr.time.dateTime(new Date(ms)));

/** The list item of emergency `e`; onEnd(button, e, person) ends it. */
export function emergencyItem(e, people, onEnd) {
  const who = people.pro(e.rpps);
  const rows = [
    [T.emergencySince, when(e.start_ms)],
    [T.emergencyUntil, when(e.until_ms)],
    [T.reason, e.reason || T.unknown],
  ];
  return h('li', { className: 'grant grant-emergency', 'data-emergency': hex(e.id) },
    h('h3', { className: 'grant-who' }, who.label, ' ', h('span', { className: 'tag urgent' }, T.emergency)),
    h('dl', { className: 'details' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('div', { className: 'actions' },
      h('button', {
        type: 'button', className: 'secondary danger-outline', 'aria-label': T.emergencyEndLabel(who.of),
        onclick: (ev) => onEnd(ev.currentTarget, e, who),
      }, T.emergencyEnd)));
}

/** Fill `body` with the running emergencies (or say there are none). */
export function fillEmergencies(body, list, people, onEnd) {
  body.className = '';
  body.replaceChildren(list.length === 0 ? h('p', { className: 'aside' }, T.emergencyEmpty)
    : h('ul', { className: 'items grants', id: 'emergencies-active' }, list.map((e) => emergencyItem(e, people, onEnd))));
}
