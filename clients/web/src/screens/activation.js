// Screen "Activer mon compte": a signed-up account is pending until its
// owner gives the one-time activation code delivered out of band (identity
// ActivateAccount with the INS, the code and the sign-up password); then
// log in. Reached after the sign-up, and from the log-in of a pending account.
import { h, field } from '../dom.js';
import { fr } from '../i18n/fr.js';
import { insCheck, insMessage } from '../ins.js';
import { Code, EspaceError, describeError } from '../errors.js';
import { pending, handOver, codeCheck } from '../activation.js';

export function render(ctx) {
  const ins = field({ label: fr.ins.label, name: 'ins', hint: fr.ins.hint, autocomplete: 'username', maxLength: 24 });
  ins.input.value = pending.ins;
  const code = field({ label: fr.activation.code, name: 'code', hint: fr.activation.codeHint, autocomplete: 'one-time-code', inputmode: 'numeric', maxLength: 16 });
  const password = field({ label: fr.activation.password, name: 'password', type: 'password', hint: fr.activation.passwordHint, autocomplete: 'current-password', maxLength: 256 });
  const known = pending.password; // from the sign-up or log-in just made: not asked again
  const formError = h('div', { className: 'form-error', role: 'alert' });
  const status = h('p', { className: 'form-status', role: 'status' });
  const submit = h('button', { type: 'submit', className: 'primary' }, fr.activation.submit);

  async function onSubmit(e) {
    e.preventDefault();
    formError.replaceChildren();
    const insMsg = insMessage(ins.input.value);
    ins.setError(insMsg);
    const c = codeCheck(code.input.value);
    code.setError(c.message);
    const pw = known || password.input.value;
    const pwMsg = pw ? '' : fr.activation.passwordEmpty;
    if (!known) password.setError(pwMsg);
    const first = [[insMsg, ins], [c.message, code], [pwMsg, password]].find(([m]) => m);
    if (first) {
      first[1].input.focus();
      return;
    }
    const insValue = insCheck(ins.input.value).value;
    submit.disabled = true;
    status.textContent = fr.activation.busy;
    try {
      await ctx.conn.call('identity', 'ActivateAccount', { ins: insValue, code: c.value, password: pw });
      status.textContent = fr.activation.done;
      handOver('', '');
      await ctx.session.login(insValue, pw);
      ctx.navigate('/accueil', ctx.session.keysError ? fr.login.keysFailed : '');
    } catch (err) {
      status.textContent = '';
      submit.disabled = false;
      const text = err instanceof EspaceError && err.code === Code.UNAUTHENTICATED
        ? fr.activation.invalid : describeError(err);
      formError.replaceChildren(h('p', {}, text));
      code.input.select();
      code.input.focus();
    }
  }

  return {
    title: fr.activation.title,
    el: h('section', { className: 'screen' },
      h('h1', { id: 'activation-title', tabIndex: -1 }, fr.activation.title),
      h('form', { className: 'card', noValidate: true, onsubmit: onSubmit, 'aria-labelledby': 'activation-title' },
        ctx.flash ? h('p', { className: 'notice info', role: 'status' }, ctx.flash) : null,
        h('p', {}, fr.activation.intro),
        formError, ins.wrap, code.wrap, known ? null : password.wrap,
        h('div', { className: 'actions' }, submit),
        status),
      h('p', { className: 'aside' }, h('a', { href: '#/connexion' }, fr.activation.toLogin))),
  };
}
