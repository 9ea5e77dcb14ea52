// The error summary at the top of a form: "Le formulaire contient des
// erreurs :" and one link per error that moves the focus to its field
// (used by the Documents and Mesures forms).
import { h } from './dom.js';
import { fr } from './i18n/fr.js';

/**
 * Show `errors` ([[field id, French text]...]) in `summary` (emptied when
 * there is none) and focus it. Returns true when there were errors.
 */
export function showErrors(summary, errors) {
  summary.replaceChildren(...(errors.length ? [h('p', {}, fr.form.errorsTitle),
    h('ul', {}, errors.map(([id, text]) => h('li', {}, h('a', {
      href: `#${id}`, onclick: (x) => { x.preventDefault(); document.getElementById(id)?.focus(); },
    }, text))))] : []));
  if (errors.length) summary.focus();
  return errors.length > 0;
}
